"""``--output`` URL schemes and query access come from each storage backend's registration."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet import hookimpl
from otlp2parquet.assembly import bootstrap
from otlp2parquet.cli.main import main
from otlp2parquet.errors import ConfigError
from otlp2parquet.plugin import urls
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.query.access import LakeAccess
from otlp2parquet.query.duckdb import s3_secret_sql

NOWHERE = Path("/nonexistent")
BUCKET_OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"bucket": {"type": "string"}, "prefix": {"type": "string"}},
}


def minio_url(options: Mapping[str, Any], bucket: str, section: str) -> str:
    return f"https://minio.example/{bucket}/"


@pytest.fixture(scope="module")
def minio_plugin() -> str:
    """A plugin registering a ``minio`` backend for ``mio://`` URLs that ClickHouse reads."""

    @hookimpl
    def register_storage_backends(register):
        register(
            name="minio",
            factory=dict,
            options=BUCKET_OPTIONS,
            url_schemes=("mio",),
            from_url=urls.bucket_and_prefix(),
            query=LakeAccess(clickhouse="S3", bucket_url=minio_url),
        )

    module = types.ModuleType("my_minio_plugin")
    module.register_storage_backends = register_storage_backends  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module.__name__


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("lake", {"storage.backend": "fs", "storage.fs.path": "lake"}),
        ("file:///tmp/lake", {"storage.backend": "fs", "storage.fs.path": "/tmp/lake"}),
        ("memory://lake", {"storage.backend": "memory", "storage.memory.path": "/lake"}),
        (
            "s3://b/otel",
            {"storage.backend": "s3", "storage.s3.bucket": "b", "storage.s3.prefix": "otel/"},
        ),
        ("s3a://b", {"storage.backend": "s3", "storage.s3.bucket": "b", "storage.s3.prefix": ""}),
        (
            "r2://b/x/",
            {"storage.backend": "r2", "storage.r2.bucket": "b", "storage.r2.prefix": "x/"},
        ),
        (
            "gs://b/p",
            {"storage.backend": "gcs", "storage.gcs.bucket": "b", "storage.gcs.prefix": "p/"},
        ),
        (
            "GCS://b",
            {"storage.backend": "gcs", "storage.gcs.bucket": "b", "storage.gcs.prefix": ""},
        ),
        (
            "az://c/p",
            {
                "storage.backend": "azure",
                "storage.azure.container": "c",
                "storage.azure.prefix": "p/",
            },
        ),
        (
            "abfs://c",
            {
                "storage.backend": "azure",
                "storage.azure.container": "c",
                "storage.azure.prefix": "",
            },
        ),
    ],
)
def test_builtin_backends_declare_their_url_schemes(url: str, expected: dict[str, Any]) -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    assert urls.storage_overrides(registry, url) == expected


def test_unknown_scheme_lists_the_registered_ones() -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    with pytest.raises(ConfigError) as info:
        urls.storage_overrides(registry, "ftp://host/x")
    assert str(info.value) == (
        "--output 'ftp://host/x': unknown scheme 'ftp'; use a path or one of abfs://, az://, "
        "azure://, gcs://, gs://, memory://, r2://, s3://, s3a://"
    )


def test_a_plugin_backend_is_selected_by_its_url_scheme(minio_plugin: str) -> None:
    cli = {"plugins.modules": ([minio_plugin], "--x")}
    runtime = bootstrap(cli=cli, env={}, cwd=NOWHERE, output="mio://logs-bucket/otel")
    assert runtime.config.get("storage.backend") == "minio"
    assert runtime.config.section("storage.minio") == {"bucket": "logs-bucket", "prefix": "otel/"}
    assert runtime.config.origin("storage.minio.bucket") == "command-line flag --output"


def test_clickhouse_reads_a_plugin_backend_as_its_registration_says(
    minio_plugin: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[plugins]\nmodules = ["{minio_plugin}"]\n')
    argv = ["--config", str(config), "query", "clickhouse", "--print", "--table", "logs"]
    assert main([*argv, "-o", "mio://lake/p"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(
        "ENGINE = S3('https://minio.example/lake/p/logs/**/*.parquet', 'Parquet');"
    )


def test_a_backend_without_query_access_is_refused_by_clickhouse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["query", "clickhouse", "--print", "-o", "memory://lake"]) == 2
    err = capsys.readouterr().err
    assert "storage.backend 'memory': ClickHouse cannot read it in place" in err


def test_duckdb_secret_follows_the_registered_access() -> None:
    access = LakeAccess(
        s3_secret=True, s3_region="garage", s3_endpoint=lambda o: f"http://{o['host']}:3900"
    )
    options = {"access_key_id": "k", "secret_access_key": "s", "host": "garage.local"}
    assert s3_secret_sql(options, access) == (
        "CREATE OR REPLACE SECRET otlp2parquet (TYPE s3, KEY_ID 'k', SECRET 's', REGION "
        "'garage', ENDPOINT 'garage.local:3900', URL_STYLE 'path', USE_SSL false)"
    )
    assert s3_secret_sql(options, LakeAccess(s3_secret=True)) == (
        "CREATE OR REPLACE SECRET otlp2parquet (TYPE s3, KEY_ID 'k', SECRET 's')"
    )
