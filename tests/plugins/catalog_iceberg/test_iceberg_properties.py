"""``[iceberg]`` options + storage backend → pyiceberg catalog properties (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otlp2parquet.errors import ConfigError
from otlp2parquet.plugins.catalog_iceberg.properties import catalog_kind, resolve
from otlp2parquet.plugins.storage_fsspec import make_fs, make_memory, make_r2, make_s3

ARN = "arn:aws:s3tables:eu-west-1:123456789012:bucket/telemetry"


@pytest.fixture
def s3() -> Any:
    return make_s3(
        {
            "bucket": "lake",
            "prefix": "otel/",
            "region": "eu-west-1",
            "endpoint": "http://127.0.0.1:9000",
            "access_key_id": "AKID",
            "secret_access_key": "SECRET",
        }
    )


@pytest.fixture
def r2() -> Any:
    return make_r2(
        {
            "bucket": "telemetry",
            "account_id": "abc123",
            "access_key_id": "AKID",
            "secret_access_key": "SECRET",
        }
    )


def test_default_is_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    storage = make_fs({"path": str(tmp_path)})
    settings = resolve({}, storage)
    assert settings.kind == "sql"
    assert settings.properties == {
        "type": "sql",
        "uri": f"sqlite:///{tmp_path}/catalog.db",
        "warehouse": f"file://{tmp_path}",
        "init_catalog_tables": "true",
    }
    assert settings.namespace == "otlp" and settings.receipt_prefix == "_pending/"


def test_sql_on_postgres_with_s3_fileio(s3: Any) -> None:
    settings = resolve({"uri": "postgresql+psycopg2://u@db/ice"}, s3)
    assert settings.kind == "sql"
    props = settings.properties
    assert props["uri"] == "postgresql+psycopg2://u@db/ice"
    assert props["warehouse"] == "s3://lake/otel"
    assert props["s3.endpoint"] == "http://127.0.0.1:9000"
    assert props["s3.access-key-id"] == "AKID" and props["s3.secret-access-key"] == "SECRET"
    assert props["s3.region"] == "eu-west-1"


def test_rest_with_bearer_token_or_oauth_credentials(s3: Any) -> None:
    bearer = resolve({"rest_uri": "https://nessie:19120/iceberg", "token": "t0k"}, s3)
    assert bearer.kind == "rest"
    assert bearer.properties["type"] == "rest"
    assert bearer.properties["uri"] == "https://nessie:19120/iceberg"
    assert bearer.properties["token"] == "t0k"
    assert bearer.properties["s3.endpoint"] == "http://127.0.0.1:9000"
    oauth = resolve(
        {
            "rest_uri": "https://polaris/api/catalog",
            "warehouse": "lake",
            "credential": "client:secret",
            "properties": {"scope": "PRINCIPAL_ROLE:ALL"},
        },
        s3,
    )
    assert oauth.properties["credential"] == "client:secret"
    assert oauth.properties["warehouse"] == "lake"
    assert oauth.properties["scope"] == "PRINCIPAL_ROLE:ALL"
    masked = oauth.masked()
    assert masked["credential"] == "********" and masked["s3.secret-access-key"] == "********"
    assert masked["uri"] == "https://polaris/api/catalog"


def test_glue_takes_region_and_credentials_from_storage(s3: Any) -> None:
    settings = resolve({"catalog_type": "glue"}, s3)
    props = settings.properties
    assert props["type"] == "glue"
    assert props["glue.region"] == props["client.region"] == "eu-west-1"
    assert props["client.access-key-id"] == "AKID"
    assert props["warehouse"] == "s3://lake/otel"
    glue = resolve({"catalog_type": "glue", "region": "us-west-2"}, s3).properties
    assert glue["glue.region"] == "us-west-2"


def test_glue_properties_are_accepted_by_pyiceberg_offline(s3: Any) -> None:
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog("t", **resolve({"catalog_type": "glue"}, s3).properties)
    assert type(catalog).__name__ == "GlueCatalog"
    assert catalog.glue.meta.region_name == "eu-west-1"


def test_s3_tables_rest_endpoint_with_sigv4(s3: Any) -> None:
    settings = resolve({"bucket_arn": ARN}, s3)
    assert settings.kind == "s3tables"
    props = settings.properties
    assert props["type"] == "rest"
    assert props["uri"] == "https://s3tables.eu-west-1.amazonaws.com/iceberg"
    assert props["warehouse"] == ARN
    assert props["rest.sigv4-enabled"] == "true"
    assert props["rest.signing-name"] == "s3tables"
    assert props["rest.signing-region"] == "eu-west-1"
    assert props["client.access-key-id"] == "AKID"
    with pytest.raises(ConfigError, match="not an S3 table bucket ARN"):
        resolve({"bucket_arn": "arn:aws:s3:::plain-bucket"}, s3)


def test_r2_data_catalog_derived_from_r2_storage(r2: Any) -> None:
    settings = resolve({"token": "cf-token"}, r2)
    assert settings.kind == "r2"
    props = settings.properties
    assert props["uri"] == "https://catalog.cloudflarestorage.com/abc123/telemetry"
    assert props["warehouse"] == "abc123_telemetry"
    assert props["token"] == "cf-token"
    assert props["s3.endpoint"] == "https://abc123.r2.cloudflarestorage.com"
    with pytest.raises(ConfigError, match="OTLP2PARQUET_ICEBERG_TOKEN"):
        resolve({}, r2)


def test_kind_derivation_and_pass_through_properties(tmp_path: Path, s3: Any) -> None:
    local = make_fs({"path": str(tmp_path)})
    assert catalog_kind({"rest_uri": "http://x"}, local) == "rest"
    assert catalog_kind({"rest_uri": "https://catalog.cloudflarestorage.com/a/b"}, local) == "r2"
    assert catalog_kind({"uri": "sqlite:///x.db"}, s3) == "sql"
    props = resolve({"properties": {"uri": "sqlite:///other.db", "pool_size": 3}}, local)
    assert props.properties["uri"] == "sqlite:///other.db"
    assert props.properties["pool_size"] == "3"
    tables = resolve({"tables": {"logs": "app_logs"}}, local)
    assert tables.table_name("logs", "otel_logs") == "app_logs"
    assert tables.table_name("traces", "otel_traces") == "otel_traces"


def test_errors_name_the_keys_to_set(tmp_path: Path, s3: Any) -> None:
    with pytest.raises(ConfigError, match=r"iceberg\.rest_uri.*iceberg\.bucket_arn"):
        resolve({}, s3)
    with pytest.raises(ConfigError, match=r"storage\.backend"):
        resolve({}, make_memory({"path": "/x"}))
    with pytest.raises(ConfigError, match="catalog_type 'hive' is unknown"):
        resolve({"catalog_type": "hive"}, s3)
    with pytest.raises(ConfigError, match="OTLP2PARQUET_ICEBERG_REST_URI"):
        resolve({"catalog_type": "rest"}, s3)
