"""``otlp2parquet connect`` snippets and the ``serve`` flags."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import yaml

from otlp2parquet.assembly import bootstrap
from otlp2parquet.cli.main import build_parser, main
from otlp2parquet.cli.serve import _listen_addr_layer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OTLP2PARQUET_* from the caller, and no ./config.toml."""
    import os

    for name in list(os.environ):
        if name.startswith("OTLP2PARQUET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def connect(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["connect", *args]) == 0
    return capsys.readouterr().out


def test_collector_config_sends_protobuf_zstd_to_this_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTLP2PARQUET_LISTEN_ADDR", "0.0.0.0:5318")
    config = yaml.safe_load(connect(capsys, "otel-collector"))
    exporter = config["exporters"]["otlphttp/otlp2parquet"]
    assert exporter["endpoint"] == "http://localhost:5318"
    assert (exporter["compression"], exporter["encoding"]) == ("zstd", "proto")
    assert "headers" not in exporter and "extensions" not in config
    for signal in ("logs", "traces", "metrics"):
        pipeline = config["service"]["pipelines"][signal]
        assert pipeline == {"receivers": ["otlp"], "exporters": ["otlphttp/otlp2parquet"]}


def test_collector_config_batches_in_the_exporter_queue_not_a_processor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = yaml.safe_load(connect(capsys, "otel-collector"))
    assert "processors" not in config  # the batch processor is deprecated
    queue = config["exporters"]["otlphttp/otlp2parquet"]["sending_queue"]
    assert queue == {
        "enabled": True, "sizer": "requests", "queue_size": 1000,
        "batch": {"flush_timeout": "5s", "sizer": "items", "min_size": 8192, "max_size": 16384},
    }  # fmt: skip
    assert queue["batch"]["min_size"] <= queue["batch"]["max_size"]


def test_collector_config_with_auth_names_variables_not_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTLP2PARQUET_AUTH_BEARER_ENABLED", "true")
    monkeypatch.setenv("OTLP2PARQUET_AUTH_BEARER_TOKEN", "super-secret")
    out = connect(capsys, "otel-collector", "--endpoint", "https://otlp.example.com/")
    assert "super-secret" not in out
    exporter = yaml.safe_load(out)["exporters"]["otlphttp/otlp2parquet"]
    assert exporter["endpoint"] == "https://otlp.example.com"
    assert exporter["headers"]["authorization"] == "Bearer ${env:OTLP2PARQUET_AUTH_BEARER_TOKEN}"

    monkeypatch.delenv("OTLP2PARQUET_AUTH_BEARER_ENABLED")
    monkeypatch.setenv("OTLP2PARQUET_BASIC_AUTH_ENABLED", "true")
    monkeypatch.setenv("OTLP2PARQUET_BASIC_AUTH_USERNAME", "otel")
    monkeypatch.setenv("OTLP2PARQUET_BASIC_AUTH_PASSWORD", "another-secret")
    out = connect(capsys, "otel-collector")
    assert "another-secret" not in out
    config = yaml.safe_load(out)
    client = config["extensions"]["basicauth/otlp2parquet"]["client_auth"]
    assert client == {"username": "otel", "password": "${env:OTLP2PARQUET_BASIC_AUTH_PASSWORD}"}
    assert config["service"]["extensions"] == ["basicauth/otlp2parquet"]
    exporter = config["exporters"]["otlphttp/otlp2parquet"]
    assert exporter["auth"] == {"authenticator": "basicauth/otlp2parquet"}


@pytest.mark.parametrize("target", ["python", "node"])
def test_sdk_variables(capsys: pytest.CaptureFixture[str], target: str) -> None:
    out = connect(capsys, target, "--service-name", "shop")
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in out.splitlines()
        if line.startswith("export ")
    )
    assert exports["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4318"
    assert exports["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert exports["OTEL_EXPORTER_OTLP_COMPRESSION"] == "gzip"
    assert exports["OTEL_SERVICE_NAME"] == "shop"
    assert {exports[f"OTEL_{s}_EXPORTER"] for s in ("TRACES", "METRICS", "LOGS")} == {"otlp"}
    assert ("opentelemetry-instrument" in out) == (target == "python")
    assert ("auto-instrumentations-node" in out) == (target == "node")


def test_sdk_variables_with_bearer_auth(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTLP2PARQUET_AUTH_BEARER_ENABLED", "1")
    monkeypatch.setenv("OTLP2PARQUET_AUTH_BEARER_TOKEN", "tok")
    out = connect(capsys, "python")
    assert (
        'OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$OTLP2PARQUET_AUTH_BEARER_TOKEN"' in out
    )
    assert "tok\n" not in out


def test_serve_flags_replace_one_half_of_listen_addr(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["serve", "--port", "9999", "--output", "/tmp/x"])
    assert (args.port, args.host, args.output) == (9999, None, "/tmp/x")
    monkeypatch.setenv("OTLP2PARQUET_LISTEN_ADDR", "10.0.0.5:4318")
    port = partial(_listen_addr_layer, host=None, port=9999)
    config = bootstrap(adjust=[port]).config
    assert config.get("server.listen_addr") == "10.0.0.5:9999"
    assert config.origin("server.listen_addr") == "command-line flag --port"
    config = bootstrap(adjust=[port, partial(_listen_addr_layer, host="::1", port=None)]).config
    assert config.get("server.listen_addr") == "[::1]:9999"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--port", "70000"])
