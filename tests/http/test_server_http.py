"""A real ``otlp2parquet serve`` process, spoken to with raw HTTP (http.client, as curl would):
the official OTLP/JSON examples land as Parquet with the values SCHEMA.md gives, protobuf,
gzip, chunked bodies and JSON Lines work, and every error status carries a decoded
``google.rpc.Status``."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

from support.otlp_server import ServerProcess, example, rows

PB = "application/x-protobuf"
JSON = "application/json"
LIMIT = 64 * 1024
CONFIG = f"""
[request]
max_payload_bytes = {LIMIT}
[batch]
enabled = false
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("http"), CONFIG) as proc:
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log()


def decode_status(headers: dict[str, str], body: bytes) -> status_pb2.Status:
    if headers["content-type"] == JSON:
        return json_format.Parse(body, status_pb2.Status())
    assert headers["content-type"] == PB
    return status_pb2.Status.FromString(body)


def by_service(data: Path, table: str, service: str) -> list[dict[str, object]]:
    return [r for r in rows(data, table) if r["ServiceName"] == service]


def logs_request(service: str) -> logs_service_pb2.ExportLogsServiceRequest:
    """logs.json with its resource renamed, so each test finds its own rows."""
    request = json_format.Parse(example("logs.json"), logs_service_pb2.ExportLogsServiceRequest())
    for attr in request.resource_logs[0].resource.attributes:
        if attr.key == "service.name":
            attr.value.string_value = service
    return request


# -- the official examples ------------------------------------------------------------------
def test_example_logs_land_with_golden_values(server: ServerProcess) -> None:
    status, headers, body = server.request(
        "POST", "/v1/logs", example("logs.json"), {"Content-Type": JSON}
    )
    assert (status, headers["content-type"], json.loads(body)) == (200, JSON, {})
    (row,) = by_service(server.data, "logs", "my.service")
    assert row["TraceId"] == "5b8efff798038103d269b633813fc60c"
    assert row["SpanId"] == "eee19b7ec3c1b174"
    assert (row["Body"], row["SeverityNumber"], row["SeverityText"]) == (
        "Example log record",
        10,
        "Information",
    )
    attrs = dict(row["LogAttributes"])
    assert attrs["double.attribute"] == "637.704"
    assert attrs["array.attribute"] == '["many","values"]'
    assert attrs["map.attribute"] == '{"some.map.key":"some value"}'


def test_example_trace_events_and_metrics_land(server: ServerProcess) -> None:
    for path, name in (("/v1/traces", "trace.json"), ("/v1/logs", "events.json")):
        status, _, body = server.request("POST", path, example(name), {"Content-Type": JSON})
        assert (status, json.loads(body)) == (200, {}), body
    status, _, body = server.request(
        "POST",
        "/v1/metrics",
        example("metrics.json"),
        {"Content-Type": "application/json; charset=utf-8"},
    )
    assert (status, json.loads(body)) == (200, {}), body
    (span,) = by_service(server.data, "traces", "my.service")
    assert (span["SpanKind"], span["StatusCode"], span["Duration"]) == ("Server", "Unset", 10**9)
    assert span["ParentSpanId"] == "eee19b7ec3c1b173"
    events = [r for r in rows(server.data, "logs") if r["EventName"] == "browser.page_view"]
    assert len(events) == 1
    assert json.loads(str(events[0]["Body"]))["title"] == "Free Online GUID Generator"
    for kind in ("sum", "gauge", "histogram", "exponential_histogram"):
        assert len(by_service(server.data, f"metrics/{kind}", "my.service")) == 1, kind


# -- encodings ------------------------------------------------------------------------------
def test_protobuf_gzip_chunked_body_gets_a_protobuf_response(server: ServerProcess) -> None:
    data = gzip.compress(logs_request("chunked-svc").SerializeToString())
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunks = (data[i : i + 100] for i in range(0, len(data), 100))
    conn.request(
        "POST",
        "/v1/logs",
        body=chunks,
        headers={"Content-Type": PB, "Content-Encoding": "gzip"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert (response.status, response.getheader("Content-Type")) == (200, PB)
    reply = logs_service_pb2.ExportLogsServiceResponse.FromString(response.read())
    conn.close()
    assert not reply.HasField("partial_success")
    (row,) = by_service(server.data, "logs", "chunked-svc")
    assert row["Body"] == "Example log record"


def test_json_lines_one_request_per_line(server: ServerProcess) -> None:
    lines = [json_format.MessageToJson(logs_request(f"jsonl-{i}"), indent=None) for i in range(2)]
    body = f"{lines[0]}\n\n{lines[1]}\n".encode()  # a blank line is skipped
    status, headers, reply = server.request(
        "POST", "/v1/logs", body, {"Content-Type": "application/x-ndjson"}
    )
    assert (status, headers["content-type"]) == (200, JSON), reply
    for i in range(2):
        assert len(by_service(server.data, "logs", f"jsonl-{i}")) == 1


def test_partial_success_reports_rejected_records(server: ServerProcess) -> None:
    body = json.dumps(
        {
            "resourceMetrics": [
                {
                    "resource": {"attributes": []},
                    "scopeMetrics": [{"metrics": [{"name": "no.data.at.all"}]}],
                }
            ]
        }
    ).encode()
    status, _, reply = server.request("POST", "/v1/metrics", body, {"Content-Type": JSON})
    assert status == 200
    partial = json.loads(reply)["partialSuccess"]
    assert partial["rejectedDataPoints"] == "1"
    assert "no.data.at.all" in partial["errorMessage"]


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code", "needle"),
    [
        ("POST", "/v1/nothing", {"Content-Type": PB}, b"", 404, code_pb2.NOT_FOUND, "/v1/logs"),
        ("GET", "/v1/logs", {}, None, 405, code_pb2.UNIMPLEMENTED, "POST"),
        ("POST", "/v1/logs", {"Content-Type": "text/plain"}, b"hi", 415, 3, "Content-Type"),
        ("POST", "/v1/traces", {"Content-Type": JSON, "Content-Encoding": "br"}, b"{}", 415, 3,
         "Content-Encoding"),
        ("POST", "/v1/logs", {"Content-Type": PB}, b"\xff\xff\xff", 400, 3, ""),
        ("POST", "/v1/metrics", {"Content-Type": JSON}, b"{not json", 400, 3, ""),
        ("POST", "/v1/logs", {"Content-Type": PB, "Content-Encoding": "gzip"}, b"not gzip", 400,
         3, "gzip"),
        ("POST", "/v1/logs", {"Content-Type": JSON, "Content-Encoding": "gzip"},
         gzip.compress(b" " * (LIMIT + 10)), 413, 3, "after decompression"),
    ],
)  # fmt: skip
def test_error_statuses_carry_a_status_body(
    server: ServerProcess,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    code: int,
    needle: str,
) -> None:
    got, got_headers, reply = server.request(method, path, body, headers)
    assert got == status, reply
    decoded = decode_status(got_headers, reply)
    assert decoded.code == code
    assert needle in decoded.message and decoded.message
    if status == 405:
        assert got_headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize(("ctype", "declared"), [(PB, LIMIT + 1), (JSON, LIMIT * 100)])
def test_content_length_over_the_limit_is_413(
    server: ServerProcess, ctype: str, declared: int
) -> None:
    """Just over the limit, the app refuses by Content-Length without reading the body; far
    over it, waitress refuses right after the headers (no body is even sent here), and its
    answer carries a Status too."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/v1/logs")
    conn.putheader("Content-Type", ctype)
    conn.putheader("Content-Length", str(declared))
    conn.endheaders(b"x" * declared if declared <= LIMIT + 1 else None)
    response = conn.getresponse()
    headers = {k.lower(): v for k, v in response.getheaders()}
    status = decode_status(headers, response.read())
    conn.close()
    assert response.status == 413
    assert headers["content-type"] == ctype
    assert f"{LIMIT}-byte limit" in status.message
    assert "request.max_payload_bytes" in status.message


def test_chunked_body_over_the_limit_is_413(server: ServerProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunks = (b"x" * 8192 for _ in range(LIMIT // 8192 + 2))
    conn.request("POST", "/v1/logs", body=chunks, headers={"Content-Type": PB},
                 encode_chunked=True)  # fmt: skip
    response = conn.getresponse()
    status = status_pb2.Status.FromString(response.read())
    conn.close()
    assert response.status == 413
    assert f"{LIMIT}-byte limit" in status.message


def test_health_and_ready(server: ServerProcess) -> None:
    assert server.request("GET", "/health")[0] == 200
    status, _, body = server.request("GET", "/ready")
    assert (status, json.loads(body)) == (200, {"status": "ready"})


def test_malformed_http_gets_a_status_body_too(server: ServerProcess) -> None:
    """waitress's own refusals (here a Content-Length that is not a number) carry a Status."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: abc\r\n\r\n"
        )
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    assert response.status == 400
    assert response.getheader("Content-Type") == PB
    assert "Content-Length" in status_pb2.Status.FromString(body).message
