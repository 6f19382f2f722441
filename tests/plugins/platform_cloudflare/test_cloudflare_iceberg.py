"""The Worker's cron trigger registering files in an Iceberg REST catalog (R2 Data Catalog's
protocol) without pyiceberg or pyarrow: the Worker runs with the lite Parquet engine and
stood-in R2/KV bindings, the catalog is ``iceberg_rest_standin`` (a real pyiceberg SqlCatalog
behind the REST protocol), and pyiceberg reads the table back from a real S3 API (moto) holding
the R2 bucket's objects."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.schema import Schema

from otlp2parquet.durability import receipts as rc
from otlp2parquet.errors import ConfigError
from otlp2parquet.plugins.platform_cloudflare import handlers, worker
from otlp2parquet.schema import iceberg_json
from otlp2parquet.schema.tables import load_table_schema
from support.cloudflare_standins import KVNamespace
from support.cloudflare_support import fetch, make_env, parquet_keys, pb_logs, request
from support.rest_catalog import RestCatalog
from support.s3 import free_port

TABLE = ("otlp", "otel_logs")


pytestmark = pytest.mark.usefixtures("fresh_worker")


def worker_env(catalog: RestCatalog, batching: bool = False, **variables: str) -> Any:
    env = make_env(
        batching=batching,
        OTLP2PARQUET_PARQUET_ENGINE="lite",
        OTLP2PARQUET_STORAGE_R2_BINDING_BUCKET=catalog.bucket,
        OTLP2PARQUET_CATALOG_MODE="iceberg",
        OTLP2PARQUET_ICEBERG_REST_URI=catalog.server.uri,
        OTLP2PARQUET_ICEBERG_WAREHOUSE=catalog.warehouse,
        OTLP2PARQUET_ICEBERG_TOKEN=catalog.token,
    )
    env.PENDING_FILES = KVNamespace()
    for name, value in variables.items():
        setattr(env, name, value)
    return env


def sync(env: Any) -> dict[str, int]:
    return asyncio.run(handlers.scheduled(env))


def table_rows(env: Any, catalog: RestCatalog) -> list[tuple[str, str]]:
    catalog.mirror(env.OTLP_BUCKET.objects)
    table = catalog.server.catalog.load_table(TABLE)
    data = table.scan(selected_fields=("ServiceName", "Body")).to_arrow()
    return sorted(zip(data["ServiceName"].to_pylist(), data["Body"].to_pylist(), strict=True))


def test_cron_registers_worker_files_in_the_rest_catalog(rest_catalog: RestCatalog) -> None:
    env = worker_env(rest_catalog)
    assert fetch(env, request("/v1/logs", pb_logs("checkout", 2, "a"))).status == 200
    assert fetch(env, request("/v1/logs", pb_logs("cart", 1, "b"))).status == 200
    assert sync(env) == {"receipts": 2, "committed": 2, "failed": 0, "unreadable": 0}
    assert env.PENDING_FILES.values == {}
    expected = [("cart", "b 0"), ("checkout", "a 0"), ("checkout", "a 1")]
    assert table_rows(env, rest_catalog) == expected
    table = rest_catalog.server.catalog.load_table(TABLE)
    snapshot = table.current_snapshot()
    assert snapshot.summary["added-data-files"] == "2" and snapshot.summary["added-records"] == "3"
    assert snapshot.summary["otlp2parquet.writer"] == "otlp2parquet-lite"
    assert table.properties[iceberg_json.PROP_SCHEMA] == "logs"
    files = {t.file.file_path for t in table.scan().plan_files()}
    bucket = rest_catalog.bucket
    assert files == {f"s3://{bucket}/{k}" for k in parquet_keys(env)}

    # A second cron run appends on top and carries the first manifest forward.
    fetch(env, request("/v1/logs", pb_logs("cart", 1, "c")))
    assert sync(env)["committed"] == 1
    assert table_rows(env, rest_catalog)[:2] == [("cart", "b 0"), ("cart", "c 0")]
    table = rest_catalog.server.catalog.load_table(TABLE)
    assert len(table.metadata.snapshots) == 2
    assert table.current_snapshot().summary["total-records"] == "4"
    created = ("POST", f"/v1/{rest_catalog.warehouse}/namespaces/otlp/tables")
    assert created in rest_catalog.server.requests


def test_batched_files_reach_the_catalog_through_self(rest_catalog: RestCatalog) -> None:
    """Batching: the OtlpBatcher writes one file on its alarm and hands it to the Worker over
    the SELF binding (a KV receipt), which the cron trigger registers."""
    env = worker_env(rest_catalog, batching=True)
    for text in ("a", "b"):
        assert fetch(env, request("/v1/logs", pb_logs("checkout", 2, text))).status == 200
    assert env.PENDING_FILES.values == {}  # nothing written yet
    asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    assert len(env.PENDING_FILES.values) == 1 and len(parquet_keys(env)) == 1
    assert sync(env) == {"receipts": 1, "committed": 1, "failed": 0, "unreadable": 0}
    bodies = [body for _, body in table_rows(env, rest_catalog)]
    assert bodies == ["a 0", "a 1", "b 0", "b 1"]


def test_a_receipt_synced_twice_adds_nothing(rest_catalog: RestCatalog) -> None:
    """A crash after the commit and before the KV delete leaves the receipt: no duplicate."""
    env = worker_env(rest_catalog)
    fetch(env, request("/v1/logs", pb_logs()))
    kept = dict(env.PENDING_FILES.values)
    assert sync(env)["committed"] == 1
    env.PENDING_FILES.values.update(kept)
    fetch(env, request("/v1/logs", pb_logs("cart", 1)))
    assert sync(env) == {"receipts": 2, "committed": 2, "failed": 0, "unreadable": 0}
    services = [s for s, _ in table_rows(env, rest_catalog)]
    assert services == ["cart", "checkout", "checkout", "checkout"]
    assert len(rest_catalog.server.catalog.load_table(TABLE).metadata.snapshots) == 2


def test_commit_conflicts_are_retried(rest_catalog: RestCatalog) -> None:
    env = worker_env(rest_catalog)
    fetch(env, request("/v1/logs", pb_logs()))
    sync(env)
    fetch(env, request("/v1/logs", pb_logs("cart", 1)))
    rest_catalog.server.conflicts = 2
    assert sync(env)["committed"] == 1
    assert rest_catalog.server.conflicts == 0
    assert [s for s, _ in table_rows(env, rest_catalog)].count("cart") == 1


def test_new_schema_columns_are_added_to_an_older_table(rest_catalog: RestCatalog) -> None:
    """A table created from an older schema file (no ``EventName``) gains the column."""
    schema = load_table_schema("logs")
    ice = iceberg_json.schema_json(schema)
    ice["fields"] = [f for f in ice["fields"] if f["name"] != "EventName"]
    ids = {f["name"]: f["id"] for f in ice["fields"]}
    from pyiceberg.partitioning import PartitionSpec

    rest_catalog.server.catalog.create_namespace("otlp")
    rest_catalog.server.catalog.create_table(
        TABLE,
        schema=Schema.model_validate(ice),
        partition_spec=PartitionSpec.model_validate(iceberg_json.partition_spec_json(schema, ids)),
        properties={"format-version": "2"},
    )
    env = worker_env(rest_catalog)
    fetch(env, request("/v1/logs", pb_logs()))
    assert sync(env)["committed"] == 1
    table = rest_catalog.server.catalog.load_table(TABLE)
    added = table.schema().find_field("EventName")
    assert not added.required and added.field_id > max(ids.values())
    assert len(table.metadata.schemas) == 2
    assert len(table_rows(env, rest_catalog)) == 3


def test_refused_token_keeps_the_receipt_with_the_reason(rest_catalog: RestCatalog) -> None:
    env = worker_env(rest_catalog, OTLP2PARQUET_ICEBERG_TOKEN="wrong")
    fetch(env, request("/v1/logs", pb_logs()))
    assert sync(env) == {"receipts": 1, "committed": 0, "failed": 1, "unreadable": 0}
    (value,) = env.PENDING_FILES.values.values()
    receipt = rc.decode(value.encode())
    assert receipt.attempts == 1
    assert "refused the token" in receipt.last_error and "HTTP 401" in receipt.last_error
    assert "wrong" not in receipt.last_error  # the token itself is never written down


def test_unreachable_catalog_keeps_the_receipt(rest_catalog: RestCatalog) -> None:
    env = worker_env(rest_catalog, OTLP2PARQUET_ICEBERG_REST_URI=f"http://127.0.0.1:{free_port()}")
    fetch(env, request("/v1/logs", pb_logs()))
    assert sync(env)["failed"] == 1
    (value,) = env.PENDING_FILES.values.values()
    assert "cannot reach the Iceberg REST catalog" in rc.decode(value.encode()).last_error


def test_table_outside_the_bound_bucket_is_refused(
    tmp_path: Path, rest_catalog: RestCatalog
) -> None:
    env = worker_env(rest_catalog, OTLP2PARQUET_STORAGE_R2_BINDING_BUCKET="another-bucket")
    fetch(env, request("/v1/logs", pb_logs()))
    assert sync(env)["failed"] == 1
    (value,) = env.PENDING_FILES.values.values()
    error = rc.decode(value.encode()).last_error
    assert "cannot write the table's metadata file" in error
    assert "is not in the R2 bucket 'another-bucket'" in error


def test_catalog_settings_are_checked_at_bootstrap(rest_catalog: RestCatalog) -> None:
    env = worker_env(rest_catalog)
    del env.OTLP2PARQUET_ICEBERG_REST_URI
    response = fetch(env, request("/v1/logs", pb_logs()))
    assert response.status == 503 and response.header("Retry-After") == "30"
    worker.reset()
    env = worker_env(rest_catalog, OTLP2PARQUET_ICEBERG_CATALOG_TYPE="glue")
    with pytest.raises(ConfigError, match="cannot be used from a Cloudflare Worker"):
        worker.WorkerApp(env)
    env = worker_env(rest_catalog, OTLP2PARQUET_STORAGE_BACKEND="memory")
    with pytest.raises(ConfigError, match=r'needs storage\.backend = "r2_binding"'):
        worker.WorkerApp(env)
