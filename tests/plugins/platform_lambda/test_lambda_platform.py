"""The lambda platform's registration and defaults (register_platforms), and the shapes of its
results, without an S3 server."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.errors import ConfigError
from otlp2parquet.plugins import platform_lambda
from otlp2parquet.plugins.platform_lambda import events

PB = "application/x-protobuf"


def test_not_an_http_event_raises() -> None:
    with pytest.raises(events.EventError, match="not an HTTP event"):
        platform_lambda.handler({"Records": [{"eventSource": "aws:s3"}]})
    with pytest.raises(events.EventError):
        platform_lambda.handler("hello")


def test_platform_defaults_and_their_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """register_platforms: the lambda platform is detected and its defaults apply."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    env = {"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_REGION": "eu-west-1"}
    runtime = bootstrap(env=env)
    assert runtime.platform == "lambda"
    config = runtime.config
    assert config.get("storage.backend") == "s3"
    assert config.get("storage.s3.bucket") == "otlp-logs"
    assert config.get("storage.s3.region") == "eu-west-1"
    assert config.get("request.max_payload_bytes") == 6 * 1024 * 1024
    assert config.get("batch.enabled") is False
    assert "platform defaults" in config.origin("storage.s3.bucket")
    (tmp_path / "config.toml").write_text('[storage.s3]\nbucket = "mine"\n[batch]\nenabled = true')
    config = bootstrap(env=env).config
    assert config.get("storage.s3.bucket") == "mine" and config.get("batch.enabled") is True
    assert config.get("storage.s3.region") == "eu-west-1"  # the neighbour is kept


def test_default_region_without_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert platform_lambda.platform_defaults({})["storage"]["s3"]["region"] == "us-east-1"


def test_the_platform_is_not_run_as_a_process(tmp_path: Path) -> None:
    runtime = bootstrap(env={"AWS_LAMBDA_FUNCTION_NAME": "f"}, cwd=tmp_path)
    platform = runtime.registry.get("platform", "lambda").factory({})
    with pytest.raises(ConfigError, match=r"platform_lambda\.handler"):
        platform.run(runtime)


def test_result_shapes_for_binary_and_repeated_headers() -> None:
    from otlp2parquet.http.responses import Response

    response = Response(
        401, [("Content-Type", PB), ("WWW-Authenticate", "Basic"), ("WWW-Authenticate", "Bearer")]
    )
    response.body = b"\x08\x10"
    single = events.to_result(events.HttpEvent("v2", "POST", "/", {}), response)
    assert single["isBase64Encoded"] and base64.b64decode(single["body"]) == b"\x08\x10"
    assert single["headers"]["WWW-Authenticate"] == "Basic, Bearer"
    multi = events.to_result(events.HttpEvent("alb", "POST", "/", {}, multi_value=True), response)
    assert multi["multiValueHeaders"]["WWW-Authenticate"] == ["Basic", "Bearer"]
    assert multi["statusDescription"] == "401 Unauthorized"
    unusual = copy.copy(response)
    unusual.status = 599
    assert events.to_result(events.HttpEvent("alb", "POST", "/", {}), unusual)[
        "statusDescription"
    ].endswith("Unknown")
