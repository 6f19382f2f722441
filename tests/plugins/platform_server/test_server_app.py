"""The falcon app over the shared OTLP/HTTP core, with falcon's TestClient and a scripted
pipeline: routes, the ``Export*ServiceResponse`` encodings and every error status with its
decoded ``google.rpc.Status`` body."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import falcon.testing
import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otlp2parquet.errors import Backpressure, DecodeError, PayloadTooLarge, StorageError
from otlp2parquet.http.otlp import NOT_READY, read_limited
from otlp2parquet.types import IngestResult
from support.server_fakes import (
    JSON,
    LIMIT,
    PB,
    FakePipeline,
    make_client,
    make_handler,
    post,
    status_of,
)


@pytest.fixture
def pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def client(pipeline: FakePipeline) -> falcon.testing.TestClient:
    return make_client(pipeline)


# -- success --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "signal", "cls", "field"),
    [
        ("/v1/logs", "logs", logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
        ("/v1/traces", "traces", trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
        (
            "/v1/metrics",
            "metrics",
            metrics_service_pb2.ExportMetricsServiceResponse,
            "rejected_data_points",
        ),
    ],
)
def test_success_is_the_signals_response_in_protobuf_with_partial_success(
    client: Any, pipeline: FakePipeline, path: str, signal: str, cls: Any, field: str
) -> None:
    pipeline.result = IngestResult(accepted=3, rejected=2, reasons=["bad id", "no time"])
    result = post(client, path, b"\x0a\x00", Content_Type=PB)
    assert result.status_code == 200
    assert result.headers["content-type"] == PB
    message = cls.FromString(result.content)
    assert getattr(message.partial_success, field) == 2
    assert message.partial_success.error_message == "bad id; no time"
    assert pipeline.calls == [(signal, b"\x0a\x00", PB, None)]


def test_success_without_rejections_leaves_partial_success_unset(client: Any) -> None:
    result = post(client, "/v1/logs", Content_Type="application/protobuf")
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/protobuf"
    message = logs_service_pb2.ExportLogsServiceResponse.FromString(result.content)
    assert not message.HasField("partial_success")
    json_result = post(client, "/v1/logs", Content_Type="application/json; charset=utf-8")
    assert json_result.headers["content-type"] == JSON
    assert json.loads(json_result.content) == {}


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "application/x-ndjson"])
def test_json_and_jsonl_requests_get_json_responses(
    client: Any, pipeline: FakePipeline, ctype: str
) -> None:
    pipeline.result = IngestResult(accepted=0, rejected=4, reasons=["empty trace id"])
    result = post(client, "/v1/traces", b'{"resourceSpans": []}', Content_Type=ctype)
    assert result.status_code == 200
    assert result.headers["content-type"] == JSON
    assert json.loads(result.content) == {
        "partialSuccess": {"rejectedSpans": "4", "errorMessage": "empty trace id"}
    }


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bodies_are_inflated(client: Any, pipeline: FakePipeline, encoding: str) -> None:
    raw = b'{"resourceLogs": []}' * 10
    body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    assert post(client, "/v1/logs", body, Content_Encoding=encoding).status_code == 200
    assert pipeline.calls[0][1] == raw


def test_trailing_slash_is_the_same_route(client: Any) -> None:
    assert post(client, "/v1/metrics/").status_code == 200


def test_health_and_ready(client: Any, pipeline: FakePipeline) -> None:
    health = client.simulate_get("/health")
    assert (health.status_code, health.json) == (200, {"status": "ok"})
    assert client.simulate_get("/ready").json == {"status": "ready"}
    pipeline.ready_error = StorageError("bucket unreachable", retry_after=7)
    ready = client.simulate_get("/ready")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "7"
    assert status_of(ready).message == NOT_READY  # the reason is only logged
    assert client.simulate_get("/health").status_code == 200


# -- errors ---------------------------------------------------------------------------------
def test_unknown_path_is_404_with_status(client: Any) -> None:
    result = client.simulate_post("/v1/profiles", body=b"x", headers={"Content-Type": PB})
    assert result.status_code == 404
    assert result.headers["content-type"] == PB
    status = status_of(result)
    assert status.code == code_pb2.NOT_FOUND
    assert "/v1/logs" in status.message


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/logs", "POST, OPTIONS"),
        ("PUT", "/v1/traces", "POST, OPTIONS"),
        ("POST", "/health", "GET"),
        ("DELETE", "/ready", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(client: Any, method: str, path: str, allow: str) -> None:
    result = client.simulate_request(method, path, headers={"Content-Type": JSON})
    assert result.status_code == 405
    assert result.headers["allow"] == allow
    status = status_of(result)
    assert status.code == code_pb2.UNIMPLEMENTED
    assert method in status.message


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({"Content-Type": "text/plain"}, "Content-Type"),
        ({}, "Content-Type"),
        ({"Content-Type": JSON, "Content-Encoding": "br"}, "Content-Encoding"),
    ],
)
def test_unsupported_media_type_or_encoding_is_415(
    client: Any, pipeline: FakePipeline, headers: dict[str, str], needle: str
) -> None:
    result = client.simulate_post("/v1/logs", body=b"{}", headers=headers)
    assert result.status_code == 415
    status = status_of(result)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert needle in status.message
    assert pipeline.calls == []


def test_content_length_over_limit_is_413_before_reading(pipeline: FakePipeline) -> None:
    handler = make_handler(pipeline)

    def never(limit: int) -> bytes:
        raise AssertionError("the body must not be read")

    headers = {"Content-Type": PB, "Content-Length": str(LIMIT + 1)}
    response = handler.handle("POST", "/v1/logs", headers, never)
    assert response.status == 413
    message = status_pb2.Status.FromString(response.body).message
    assert "Content-Length" in message and "request.max_payload_bytes" in message


def test_body_over_limit_as_sent_and_after_decompression_is_413(pipeline: FakePipeline) -> None:
    handler = make_handler(pipeline)
    chunked = iter([b"x" * 600, b"x" * 600, b"never read"])
    headers = {"Content-Type": JSON}  # no Content-Length: a chunked body, streamed
    stream = lambda limit: read_limited(lambda size: next(chunked), limit)  # noqa: E731
    too_big = handler.handle("POST", "/v1/logs", headers, stream)
    assert too_big.status == 413
    assert "as sent" in json.loads(too_big.body)["message"]
    assert next(chunked) == b"never read"
    bomb = gzip.compress(b"{" * (LIMIT * 50))
    inflated = handler.handle("POST", "/v1/logs", {**headers, "Content-Encoding": "gzip"}, bomb)
    assert inflated.status == 413
    assert "after decompression" in json.loads(inflated.body)["message"]


def test_streamed_reads_stop_at_the_limit() -> None:
    reads: list[int] = []

    def read(size: int) -> bytes:
        reads.append(size)
        return b"x" * size

    with pytest.raises(PayloadTooLarge, match="100000-byte limit"):
        read_limited(read, 100_000)
    assert sum(reads) == 100_001  # never more than one byte past the limit
    parts = iter([b"ab", b"c", b""])
    assert read_limited(lambda size: next(parts), 3) == b"abc"


def test_undecodable_body_is_400_with_status(client: Any, pipeline: FakePipeline) -> None:
    pipeline.error = DecodeError("resourceLogs[0]: not an object")
    result = post(client, "/v1/logs", Content_Type=PB)
    assert result.status_code == 400
    assert result.headers["content-type"] == PB
    status = status_of(result)
    assert (status.code, status.message) == (
        code_pb2.INVALID_ARGUMENT,
        "resourceLogs[0]: not an object",
    )
    handler = make_handler(pipeline)
    bad_length = handler.handle(
        "POST", "/v1/logs", {"Content-Type": PB, "Content-Length": "x"}, b""
    )
    assert bad_length.status == 400


@pytest.mark.parametrize(
    ("error", "status", "code", "retry_after"),
    [
        (Backpressure("buffers are full", retry_after=2.5), 429, code_pb2.RESOURCE_EXHAUSTED, "3"),
        (StorageError("s3 is down", retry_after=12), 503, code_pb2.UNAVAILABLE, "12"),
    ],
)
def test_backpressure_and_storage_failure_ask_for_a_retry(
    client: Any, pipeline: FakePipeline, error: Exception, status: int, code: int, retry_after: str
) -> None:
    pipeline.error = error
    result = post(client, "/v1/metrics")
    assert result.status_code == status
    assert result.headers["retry-after"] == retry_after
    assert (status_of(result).code, status_of(result).message) == (code, str(error))


def test_unexpected_error_is_500_without_internals(client: Any, pipeline: FakePipeline) -> None:
    pipeline.error = KeyError("secret internal detail")
    result = post(client, "/v1/logs")
    assert result.status_code == 500
    status = status_of(result)
    assert status.code == code_pb2.INTERNAL
    assert "secret" not in status.message
