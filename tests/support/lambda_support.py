"""Helpers for the Lambda tests: saved AWS event shapes (tests/data/lambda/) with a given path,
body and headers, and small OTLP protobuf requests."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

DATA = Path(__file__).parents[1] / "data" / "lambda"
KINDS = ("function_url", "http_api_v2", "rest_v1", "alb")
PB = "application/x-protobuf"
T0 = 1_714_557_600_000_000_000  # 2024-05-01T10:00:00Z


def event(kind: str, path: str, body: bytes, content_type: str = PB, **headers: str) -> dict:
    """A saved event with its path, body and headers replaced (keeping its header style)."""
    data = json.loads((DATA / f"{kind}.json").read_text())
    data["body"] = base64.b64encode(body).decode()
    data["isBase64Encoded"] = True
    extra = {
        "content-type": content_type,
        "content-length": str(len(body)),
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    if "rawPath" in data:
        stage = data["requestContext"]["stage"]
        data["rawPath"] = path if stage == "$default" else f"/{stage}{path}"
        data["headers"].update(extra)
    else:
        data["path"] = path
        if kind == "rest_v1":  # REST keeps the client's case, in both header maps
            extra = {k.title(): v for k, v in extra.items()}
            data["multiValueHeaders"].update({k: [v] for k, v in extra.items()})
        data["headers"].update(extra)
    return data


def pb_logs(service: str = "checkout", count: int = 3) -> bytes:
    request = logs_service_pb2.ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    attr = resource_logs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", service
    scope = resource_logs.scope_logs.add()
    for i in range(count):
        record = scope.log_records.add()
        record.time_unix_nano = T0 + (i + 1) * 1_000_000_000
        record.severity_number = 9
        record.body.string_value = f"hello {i}"
    return request.SerializeToString()


def pb_traces() -> bytes:
    request = trace_service_pb2.ExportTraceServiceRequest()
    spans = request.resource_spans.add()
    attr = spans.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "cart"
    span = spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(16)), bytes(range(8)), "GET /"
    span.start_time_unix_nano, span.end_time_unix_nano = T0 + 5, T0 + 10
    return request.SerializeToString()
