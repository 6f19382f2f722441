"""Config layering, environment resolution, validation messages and masking."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.config.load import load_config
from otlp2parquet.errors import ConfigError
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.plugin.platforms import detect_platform

RUST_CONFIG = """
catalog_mode = "none"

[batch]
max_rows = 1000
max_bytes = 1048576
max_age_secs = 3
enabled = true

[request]
max_payload_bytes = 1048576

[storage]
backend = "filesystem"
parquet_row_group_size = 4096

[storage.fs]
path = "/tmp/otlp"

[storage.s3]
bucket = "otlp-logs"
region = "us-east-1"
endpoint = "http://127.0.0.1:9000"
prefix = "p/"

[storage.r2]
bucket = "b"
account_id = "acc"
access_key_id = "AKID"
secret_access_key = "very-secret"
endpoint = "https://acc.r2.cloudflarestorage.com"
prefix = "r/"

[server]
listen_addr = "127.0.0.1:4318"
log_level = "debug"
log_format = "json"

[iceberg]
rest_uri = "http://nessie:19120/iceberg"
warehouse = "wh"
namespace = "otel"
bucket_arn = "arn:aws:s3tables:us-east-1:123456789012:bucket/b"

[iceberg.tables]
logs = "my_logs"
metrics_summary = "my_summary"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_declared_defaults_match_reference() -> None:
    config = bootstrap(env={}, cwd=Path("/nonexistent")).config
    assert config.get("batch.max_rows") == 200000
    assert config.get("batch.max_bytes") == 134217728
    assert config.get("batch.max_age_secs") == 10
    assert config.get("batch.enabled") is True
    assert config.get("request.max_payload_bytes") == 8388608
    assert config.get("storage.backend") == "fs"
    assert config.get("storage.parquet_row_group_size") == 32768
    assert config.get("storage.fs.path") == "./data"
    assert config.get("server.listen_addr") == "0.0.0.0:4318"
    assert config.get("iceberg.namespace") == "otlp"
    assert config.get("iceberg.tables.metrics_exponential_histogram") == (
        "otel_metrics_exponential_histogram"
    )
    assert config.origin("batch.max_rows") == "defaults"


def test_rust_config_file_works_unchanged(tmp_path: Path) -> None:
    runtime = bootstrap(str(write(tmp_path, RUST_CONFIG)), env={})
    config = runtime.config
    assert runtime.warnings == []
    assert config.get("batch.max_rows") == 1000
    assert config.get("storage.s3.endpoint") == "http://127.0.0.1:9000"
    assert config.get("iceberg.tables.logs") == "my_logs"
    assert config.get("iceberg.tables.traces") == "otel_traces"  # neighbour keeps its default
    assert config.origin("batch.max_rows").endswith("key batch.max_rows")


def test_one_key_keeps_neighbour_defaults(tmp_path: Path) -> None:
    config = load_config(str(write(tmp_path, "[batch]\nmax_rows = 5\n")), env={})
    assert config.get("batch.max_rows") == 5
    assert config.get("batch.max_bytes") == 134217728
    assert config.get("batch.enabled") is True


def test_precedence_file_env_cli(tmp_path: Path) -> None:
    path = write(tmp_path, "[batch]\nmax_rows = 5\nmax_bytes = 6\nmax_age_secs = 7\n")
    env = {"OTLP2PARQUET_BATCH_MAX_BYTES": "60", "OTLP2PARQUET_BATCH_MAX_AGE_SECS": "70"}
    config = load_config(str(path), cli={"batch.max_age_secs": (700, "--age")}, env=env)
    assert config.get("batch.max_rows") == 5
    assert config.get("batch.max_bytes") == 60
    assert config.get("batch.max_age_secs") == 700
    assert config.origin("batch.max_bytes") == "environment variable OTLP2PARQUET_BATCH_MAX_BYTES"
    assert config.origin("batch.max_age_secs") == "command-line flag --age"


@pytest.mark.parametrize(
    ("name", "value", "key", "expected"),
    [
        ("OTLP2PARQUET_BATCH_MAX_ROWS", "42", "batch.max_rows", 42),
        ("OTLP2PARQUET_BATCH_ENABLED", "false", "batch.enabled", False),
        ("OTLP2PARQUET_BATCHING_ENABLED", "0", "batch.enabled", False),
        ("OTLP2PARQUET_MAX_PAYLOAD_BYTES", "10", "request.max_payload_bytes", 10),
        ("OTLP2PARQUET_LISTEN_ADDR", "127.0.0.1:1", "server.listen_addr", "127.0.0.1:1"),
        ("OTLP2PARQUET_LOG_LEVEL", "debug", "server.log_level", "debug"),
        ("OTLP2PARQUET_LOG_FORMAT", "json", "server.log_format", "json"),
        ("OTLP2PARQUET_STORAGE_BACKEND", "s3", "storage.backend", "s3"),
        ("OTLP2PARQUET_STORAGE_PATH", "/x", "storage.fs.path", "/x"),
        ("OTLP2PARQUET_S3_BUCKET", "b", "storage.s3.bucket", "b"),
        ("OTLP2PARQUET_S3_REGION", "eu-west-1", "storage.s3.region", "eu-west-1"),
        ("OTLP2PARQUET_S3_ENDPOINT", "http://h", "storage.s3.endpoint", "http://h"),
        ("OTLP2PARQUET_S3_PREFIX", "p/", "storage.s3.prefix", "p/"),
        ("OTLP2PARQUET_PREFIX", "old/", "storage.s3.prefix", "old/"),
        ("OTLP2PARQUET_R2_BUCKET", "r", "storage.r2.bucket", "r"),
        ("OTLP2PARQUET_R2_ACCOUNT_ID", "a", "storage.r2.account_id", "a"),
        ("OTLP2PARQUET_R2_PREFIX", "x/", "storage.r2.prefix", "x/"),
        ("OTLP2PARQUET_PARQUET_ROW_GROUP_SIZE", "9", "storage.parquet_row_group_size", 9),
        ("OTLP2PARQUET_CATALOG_MODE", "iceberg", "catalog_mode", "iceberg"),
        ("OTLP2PARQUET_ICEBERG_REST_URI", "http://r", "iceberg.rest_uri", "http://r"),
        ("OTLP2PARQUET_ICEBERG_WAREHOUSE", "w", "iceberg.warehouse", "w"),
        ("OTLP2PARQUET_ICEBERG_NAMESPACE", "n", "iceberg.namespace", "n"),
        ("OTLP2PARQUET_ICEBERG_BUCKET_ARN", "arn", "iceberg.bucket_arn", "arn"),
        ("OTLP2PARQUET_ICEBERG_TABLE_LOGS", "l", "iceberg.tables.logs", "l"),
        ("OTLP2PARQUET_ICEBERG_TABLE_TRACES", "t", "iceberg.tables.traces", "t"),
        ("OTLP2PARQUET_ICEBERG_TABLE_METRICS_GAUGE", "g", "iceberg.tables.metrics_gauge", "g"),
        ("OTLP2PARQUET_ICEBERG_TABLE_METRICS_SUM", "s", "iceberg.tables.metrics_sum", "s"),
        (
            "OTLP2PARQUET_ICEBERG_TABLE_METRICS_HISTOGRAM",
            "h",
            "iceberg.tables.metrics_histogram",
            "h",
        ),
        (
            "OTLP2PARQUET_ICEBERG_TABLE_METRICS_EXPONENTIAL_HISTOGRAM",
            "e",
            "iceberg.tables.metrics_exponential_histogram",
            "e",
        ),
        ("OTLP2PARQUET_ICEBERG_TABLE_METRICS_SUMMARY", "u", "iceberg.tables.metrics_summary", "u"),
        ("OTLP2PARQUET_BASIC_AUTH_ENABLED", "true", "auth.basic.enabled", True),
        ("OTLP2PARQUET_BASIC_AUTH_USERNAME", "u", "auth.basic.username", "u"),
        ("OTLP2PARQUET_BASIC_AUTH_PASSWORD", "p", "auth.basic.password", "p"),
        ("OTLP2PARQUET_SERVER_THREADS", "3", "server.threads", 3),
        ("OTLP2PARQUET_PLUGINS_DISABLE", "a, b", "plugins.disable", ["a", "b"]),
    ],
)
def test_reference_variables(name: str, value: str, key: str, expected: object) -> None:
    config = bootstrap(env={name: value}, cwd=Path("/nonexistent")).config
    assert config.get(key) == expected
    assert config.origin(key) == f"environment variable {name}"


def test_env_sets_one_key_and_keeps_file_neighbours(tmp_path: Path) -> None:
    path = write(tmp_path, "[storage.s3]\nbucket = 'from-file'\nregion = 'eu-west-1'\n")
    config = bootstrap(str(path), env={"OTLP2PARQUET_S3_BUCKET": "from-env"}).config
    assert config.get("storage.s3.bucket") == "from-env"
    assert config.get("storage.s3.region") == "eu-west-1"


def test_config_file_sources_in_order(tmp_path: Path) -> None:
    flag = write(tmp_path, "[batch]\nmax_rows = 1\n", "flag.toml")
    named = write(tmp_path, "[batch]\nmax_rows = 2\n", "named.toml")
    write(tmp_path, "[batch]\nmax_rows = 4\n")
    inline = "[batch]\nmax_rows = 3\n"
    env = {"OTLP2PARQUET_CONFIG": str(named), "OTLP2PARQUET_CONFIG_CONTENT": inline}
    assert load_config(str(flag), env=env, cwd=tmp_path).get("batch.max_rows") == 1
    assert load_config(None, env=env, cwd=tmp_path).get("batch.max_rows") == 2
    only_inline = {"OTLP2PARQUET_CONFIG_CONTENT": inline}
    assert load_config(None, env=only_inline, cwd=tmp_path).get("batch.max_rows") == 3
    assert load_config(None, env={}, cwd=tmp_path).get("batch.max_rows") == 4


def test_invalid_value_error_names_key_origin_allowed_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "[batch]\nmax_rows = 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={}).validate()
    message = str(info.value)
    assert "'batch.max_rows'" in message
    assert f"{path} key batch.max_rows" in message
    assert "allowed: integer >= 1" in message
    assert "OTLP2PARQUET_BATCH_MAX_ROWS" in message


def test_invalid_env_value_names_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={"OTLP2PARQUET_BATCH_MAX_ROWS": "many"})
    assert "OTLP2PARQUET_BATCH_MAX_ROWS='many'" in str(info.value)
    assert "integer" in str(info.value)


def test_enum_error_lists_allowed_values() -> None:
    config = load_config(env={"OTLP2PARQUET_LOG_FORMAT": "xml"}, cwd=Path("/nonexistent"))
    with pytest.raises(ConfigError) as info:
        config.validate()
    assert 'one of "text", "json"' in str(info.value)
    assert "environment variable OTLP2PARQUET_LOG_FORMAT" in str(info.value)


def test_bad_toml_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[batch\nmax_rows = 1\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(str(path), env={})


def test_missing_file_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="named by OTLP2PARQUET_CONFIG"):
        load_config(None, env={"OTLP2PARQUET_CONFIG": str(tmp_path / "nope.toml")})


def test_unknown_key_warns_with_suggestion(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "[batch]\nmax_row = 5\n")
    with caplog.at_level(logging.WARNING):
        warnings = load_config(str(path), env={}).validate()
    assert warnings == [
        f"unknown key 'batch.max_row' in {path} key batch.max_row; did you mean 'batch.max_rows'?"
    ]
    assert "batch.max_row" in caplog.text


def test_unknown_key_is_error_when_strict(tmp_path: Path) -> None:
    path = write(tmp_path, "strict = true\n[batch]\nmax_row = 5\n")
    with pytest.raises(ConfigError, match=r"unknown key 'batch.max_row'"):
        load_config(str(path), env={}).validate()


def test_unknown_variable_warns_or_fails_when_strict(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        bootstrap(env={"OTLP2PARQUET_BATCH_MAX_ROW": "1"}, cwd=Path("/nonexistent"))
    assert "unknown environment variable(s) OTLP2PARQUET_BATCH_MAX_ROW" in caplog.text
    with pytest.raises(ConfigError, match="OTLP2PARQUET_BATCH_MAX_ROW"):
        bootstrap(
            env={"OTLP2PARQUET_BATCH_MAX_ROW": "1", "OTLP2PARQUET_STRICT": "true"},
            cwd=Path("/nonexistent"),
        )


def test_secrets_masked_in_show_and_errors(tmp_path: Path) -> None:
    config = bootstrap(
        str(write(tmp_path, RUST_CONFIG)), env={"OTLP2PARQUET_BASIC_AUTH_PASSWORD": "hunter2"}
    ).config
    shown = config.show(with_origin=True)
    assert "very-secret" not in shown and "hunter2" not in shown
    assert 'storage.r2.secret_access_key = "********"' in shown
    assert "environment variable OTLP2PARQUET_BASIC_AUTH_PASSWORD" in shown
    bad = load_config(env={"OTLP2PARQUET_CONFIG_CONTENT": "[auth.basic]\npassword = 5\n"})
    with pytest.raises(ConfigError) as info:
        bad.validate()
    assert "5" not in str(info.value).split("allowed")[0].replace("auth.basic", "")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "server"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f"}, "lambda"),
        ({"CF_WORKER": "1"}, "cloudflare"),
    ],
)
def test_platform_detection(env: dict[str, str], expected: str) -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    assert detect_platform(registry, env) == expected
    assert bootstrap(env=env, cwd=Path("/nonexistent")).platform == expected


def test_explicit_platform_wins() -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "f", "OTLP2PARQUET_PLATFORM": "server"}
    assert bootstrap(env=env, cwd=Path("/nonexistent")).platform == "server"
