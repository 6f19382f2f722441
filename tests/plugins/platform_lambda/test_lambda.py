"""The Lambda handler replays AWS's documented event shapes (tests/data/lambda/) against moto's
S3 server: files land under the layout's keys, responses have each event kind's shape, and error
statuses and bodies are the server's (the same ``OtlpHttp`` core)."""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

from otlp2parquet.plugins import platform_lambda
from support.lambda_support import KINDS, PB, event, pb_logs, pb_traces
from support.otlp_requests import logs_request
from support.s3 import S3_KEY, S3_REGION, S3_SECRET


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: str, make_bucket: Callable
) -> Iterator[str]:
    """A fresh bucket on moto and the environment Lambda would give; yields the bucket."""
    bucket = make_bucket()
    monkeypatch.chdir(tmp_path)  # no ./config.toml
    for name in ("OTLP2PARQUET_CONFIG", "OTLP2PARQUET_CONFIG_CONTENT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_LAMBDA_FUNCTION_NAME": "otlp2parquet-test",
        "AWS_REGION": S3_REGION,
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "OTLP2PARQUET_S3_BUCKET": bucket,
        "OTLP2PARQUET_S3_ENDPOINT": s3_server,
    }.items():
        monkeypatch.setenv(name, value)
    platform_lambda.reset()
    yield bucket
    platform_lambda.reset()


def s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )


def keys(endpoint: str, bucket: str) -> list[str]:
    listed = s3(endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def read_parquet(endpoint: str, bucket: str, key: str) -> Any:
    body = s3(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


def body_of(result: dict) -> bytes:
    raw = result["body"]
    return base64.b64decode(raw) if result["isBase64Encoded"] else raw.encode()


def header(result: dict, name: str) -> str | None:
    if "multiValueHeaders" in result:
        values = result["multiValueHeaders"].get(name)
        return ", ".join(values) if values else None
    return result["headers"].get(name)


def status_of(result: dict) -> status_pb2.Status:
    data = body_of(result)
    if header(result, "Content-Type") == PB:
        return status_pb2.Status.FromString(data)
    return json_format.Parse(data, status_pb2.Status())


@pytest.mark.parametrize("kind", KINDS)
def test_protobuf_logs_land_under_the_layout_keys(kind: str, lambda_env: str, s3_server: str):
    result = platform_lambda.handler(event(kind, "/v1/logs", pb_logs()), None)
    assert result["statusCode"] == 200, result
    assert header(result, "Content-Type") == PB
    assert result["isBase64Encoded"] is False  # an empty ExportLogsServiceResponse
    logs_service_pb2.ExportLogsServiceResponse.FromString(body_of(result))
    (key,) = keys(s3_server, lambda_env)
    assert key.startswith("logs/checkout/year=2024/month=05/day=01/hour=10/")
    assert key.endswith(".parquet")
    assert read_parquet(s3_server, lambda_env, key).num_rows == 3
    if kind == "alb":
        assert result["statusDescription"] == "200 OK"
    if kind == "rest_v1":
        assert "multiValueHeaders" in result and "headers" not in result
    else:
        assert "headers" in result and "multiValueHeaders" not in result


@pytest.mark.parametrize("kind", KINDS)
def test_json_and_gzip_bodies(kind: str, lambda_env: str, s3_server: str) -> None:
    body = gzip.compress(logs_request())
    result = platform_lambda.handler(
        event(kind, "/v1/logs", body, "application/json", content_encoding="gzip")
    )
    assert result["statusCode"] == 200, result
    assert header(result, "Content-Type") == "application/json"
    assert result["isBase64Encoded"] is False and json.loads(result["body"]) == {}
    found = keys(s3_server, lambda_env)
    # 2 services x 2 hours: four files, one per service and hour
    assert len(found) == 4 and all(k.startswith("logs/") for k in found)


def test_http_api_stage_is_not_part_of_the_route(lambda_env: str, s3_server: str) -> None:
    result = platform_lambda.handler(event("http_api_v2", "/v1/traces", pb_traces()))
    assert result["statusCode"] == 200, result
    (key,) = keys(s3_server, lambda_env)
    assert key.startswith("traces/cart/year=2024/month=05/day=01/hour=10/")


def test_plain_text_body_without_base64(lambda_env: str, s3_server: str) -> None:
    data = event("function_url", "/v1/logs", b"", "application/json")
    data["body"], data["isBase64Encoded"] = logs_request().decode(), False
    data["headers"]["content-length"] = str(len(data["body"]))
    assert platform_lambda.handler(data)["statusCode"] == 200
    assert len(keys(s3_server, lambda_env)) == 4


def test_alb_multi_value_headers_are_answered_in_kind(lambda_env: str) -> None:
    data = event("alb", "/nowhere", b"")
    data["multiValueHeaders"] = {k: [v] for k, v in data.pop("headers").items()}
    result = platform_lambda.handler(data)
    assert result["statusCode"] == 404
    assert result["statusDescription"] == "404 Not Found"
    assert result["multiValueHeaders"]["Content-Type"] == [PB]
    assert "headers" not in result


def server_response(body: bytes, path: str, method: str, headers: dict[str, str]) -> Any:
    """The same request through the waitress server's falcon app, over the same config."""
    import falcon.testing

    from otlp2parquet.http.otlp import OtlpHttp
    from otlp2parquet.plugins.platform_server.app import create_app

    runtime = platform_lambda.get_app().runtime
    app = create_app(OtlpHttp.from_config(runtime.config, runtime.pipeline()))
    return falcon.testing.TestClient(app).simulate_request(method, path, body=body, headers=headers)


ERRORS = [
    ("unknown path", "/v2/logs", "POST", pb_logs(), {}, 404),
    ("wrong method", "/v1/logs", "GET", b"", {}, 405),
    ("media type", "/v1/logs", "POST", b"x", {"content-type": "text/plain"}, 415),
    ("encoding", "/v1/logs", "POST", b"x", {"content-encoding": "br"}, 415),
    ("undecodable", "/v1/logs", "POST", b"\xff\xff\xff", {}, 400),
    ("too large", "/v1/logs", "POST", b"\0" * 2048, {}, 413),
    ("too large inflated", "/v1/logs", "POST", gzip.compress(b"\0" * 4096), {"gzip": ""}, 413),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "path", "method", "body", "extra", "status"), ERRORS)
def test_errors_match_the_server(
    kind: str,
    name: str,
    path: str,
    method: str,
    body: bytes,
    extra: dict[str, str],
    status: int,
    lambda_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTLP2PARQUET_MAX_PAYLOAD_BYTES", "1024")
    headers = {"content-type": PB, **extra}
    if "gzip" in headers:
        headers = {"content-type": PB, "content-encoding": "gzip"}
    data = event(kind, path, body, **{k.replace("-", "_"): v for k, v in headers.items()})
    if "rawPath" in data:
        data["requestContext"]["http"]["method"] = method
    else:
        data["httpMethod"] = method
    result = platform_lambda.handler(data)
    expected = server_response(body, path, method, headers)
    assert result["statusCode"] == expected.status_code == status, (name, result)
    assert body_of(result) == expected.content
    assert header(result, "Content-Type") == expected.headers["content-type"]
    assert status_of(result).message


def test_invalid_base64_is_400(lambda_env: str) -> None:
    data = event("function_url", "/v1/logs", b"")
    data["body"] = "not base64!"
    data["headers"].pop("content-length")
    result = platform_lambda.handler(data)
    assert result["statusCode"] == 400
    assert "base64" in status_of(result).message


def test_health_and_ready(lambda_env: str) -> None:
    for path, status in (("/health", "ok"), ("/ready", "ready")):
        data = event("function_url", path, b"")
        data["requestContext"]["http"]["method"] = "GET"
        result = platform_lambda.handler(data)
        assert result["statusCode"] == 200 and json.loads(result["body"]) == {"status": status}


def test_basic_auth(lambda_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTLP2PARQUET_BASIC_AUTH_ENABLED", "true")
    monkeypatch.setenv("OTLP2PARQUET_BASIC_AUTH_USERNAME", "otel")
    monkeypatch.setenv("OTLP2PARQUET_BASIC_AUTH_PASSWORD", "s3cret")
    assert platform_lambda.handler(event("alb", "/v1/logs", pb_logs()))["statusCode"] == 401
    good = "Basic " + base64.b64encode(b"otel:s3cret").decode()
    result = platform_lambda.handler(event("alb", "/v1/logs", pb_logs(), authorization=good))
    assert result["statusCode"] == 200


def test_bootstrap_failure_is_503_and_retried_next_time(
    lambda_env: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTLP2PARQUET_STORAGE_BACKEND", "no-such-backend")
    result = platform_lambda.handler(event("rest_v1", "/v1/logs", pb_logs()))
    assert result["statusCode"] == 503
    assert header(result, "Retry-After") == "30"
    assert "no-such-backend" not in result["body"]  # details stay in the log
    assert "no-such-backend" in caplog.text
    monkeypatch.delenv("OTLP2PARQUET_STORAGE_BACKEND")
    assert platform_lambda.handler(event("rest_v1", "/v1/logs", pb_logs()))["statusCode"] == 200


def test_runtime_is_kept_for_warm_invocations(lambda_env: str) -> None:
    platform_lambda.handler(event("function_url", "/v1/logs", pb_logs()))
    first = platform_lambda.get_app()
    platform_lambda.handler(event("function_url", "/v1/logs", pb_logs()))
    assert platform_lambda.get_app() is first


def test_configured_batching_buffers_across_invocations(
    lambda_env: str, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTLP2PARQUET_BATCH_ENABLED", "true")
    for _ in range(2):
        platform_lambda.handler(event("function_url", "/v1/logs", pb_logs()))
    assert keys(s3_server, lambda_env) == []
    platform_lambda.reset()  # closing flushes: one file for both invocations
    (key,) = keys(s3_server, lambda_env)
    assert read_parquet(s3_server, lambda_env, key).num_rows == 6
