"""Reproducible OTLP workloads (fixed seeds), encoded as protobuf, OTLP/JSON and JSON Lines.

- L: 100,000 log records in 4 resources (3 resource attributes each), one scope, ~80-character
  bodies, 3 attributes (two strings, one int), trace and span IDs, severity.
- T: 50,000 spans, 5 attributes and 1 event each, 10% with a link.
- M: 100,000 data points, a mix of gauge, sum and histogram (10 buckets), 3 attributes each.

Each workload is split into requests of ``REQUEST_RECORDS`` records, as SDKs and collectors send.
OTLP/JSON is what exporters send: camelCase names, enums as integers, IDs as hex, 64-bit integers
as strings. JSON Lines bodies hold ``JSONL_LINES`` requests, one per line.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

REQUEST_RECORDS = 1000
JSONL_LINES = 10
ENCODINGS = ("protobuf", "json", "jsonl")
SIZES = {"L": 100_000, "T": 50_000, "M": 100_000}
BASE_NS = 1_760_000_000_000_000_000
WORDS = (
    "checkout", "payment", "cart", "user", "session", "timeout", "retry", "database",
    "cache", "miss", "request", "completed", "failed", "latency", "upstream", "service",
)  # fmt: skip
REQUEST_TYPES: dict[str, Any] = {
    "logs": ExportLogsServiceRequest,
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


@dataclass
class Workload:
    name: str
    signal: str
    records: int
    requests: list[bytes]  # serialized protobuf requests
    _json: list[bytes] = field(default_factory=list, repr=False)

    def bodies(self, encoding: str) -> list[bytes]:
        """The request bodies in ``encoding`` (protobuf, json or jsonl)."""
        if encoding == "protobuf":
            return self.requests
        if not self._json:
            self._json = [to_json(self.signal, body) for body in self.requests]
        if encoding == "json":
            return self._json
        lines = self._json
        return [
            b"\n".join(lines[i : i + JSONL_LINES]) + b"\n"
            for i in range(0, len(lines), JSONL_LINES)
        ]


def to_json(signal: str, body: bytes) -> bytes:
    """A protobuf request as OTLP/JSON, as an exporter writes it."""
    message = REQUEST_TYPES[signal].FromString(body)
    data = json_format.MessageToDict(message, use_integers_for_enums=True)
    _hex_ids(data)
    return json.dumps(data, separators=(",", ":")).encode()


def _hex_ids(node: object) -> None:
    """protobuf's JSON printer writes IDs as base64; OTLP/JSON wants hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _resource(i: int) -> Resource:
    return Resource(
        attributes=[
            _kv("service.name", f"service-{i}"),
            _kv("host.name", f"host-{i:03d}.example.internal"),
            _kv("deployment.environment", "production"),
        ]
    )


def _sentence(rng: random.Random, length: int = 80) -> str:
    return " ".join(rng.choices(WORDS, k=length // 5))[:length]


def logs(total: int = SIZES["L"], seed: int = 1) -> Workload:
    rng = random.Random(seed)
    requests = []
    for start in range(0, total, REQUEST_RECORDS):
        n = min(REQUEST_RECORDS, total - start)
        request = ExportLogsServiceRequest()
        per_resource = n // 4
        for r in range(4):
            sl = request.resource_logs.add(resource=_resource(r)).scope_logs.add()
            sl.scope.name = "bench.logger"
            sl.scope.version = "1.0.0"
            count = per_resource if r < 3 else n - 3 * per_resource
            for i in range(count):
                t = BASE_NS + (start + r * per_resource + i) * 1_000_000
                level = rng.randrange(4)
                sl.log_records.append(
                    logs_pb2.LogRecord(
                        time_unix_nano=t,
                        observed_time_unix_nano=t + 1000,
                        severity_number=(5, 9, 13, 17)[level],
                        severity_text=("DEBUG", "INFO", "WARN", "ERROR")[level],
                        body=AnyValue(string_value=_sentence(rng)),
                        attributes=[
                            _kv("http.method", rng.choice(("GET", "POST", "PUT"))),
                            _kv("http.route", f"/api/v1/{rng.choice(WORDS)}"),
                            _kv("http.status_code", rng.choice((200, 201, 404, 500))),
                        ],
                        trace_id=rng.randbytes(16),
                        span_id=rng.randbytes(8),
                        flags=1,
                    )
                )
        requests.append(request.SerializeToString())
    return Workload("L", "logs", total, requests)


def traces(total: int = SIZES["T"], seed: int = 2) -> Workload:
    rng = random.Random(seed)
    requests = []
    for start in range(0, total, REQUEST_RECORDS):
        n = min(REQUEST_RECORDS, total - start)
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add(resource=_resource(start // REQUEST_RECORDS % 4))
        ss = rs.scope_spans.add()
        ss.scope.name = "bench.tracer"
        for i in range(n):
            t = BASE_NS + (start + i) * 1_000_000
            span = trace_pb2.Span(
                trace_id=rng.randbytes(16),
                span_id=rng.randbytes(8),
                parent_span_id=rng.randbytes(8),
                name=f"GET /api/{rng.choice(WORDS)}",
                kind=rng.randint(1, 5),
                start_time_unix_nano=t,
                end_time_unix_nano=t + rng.randint(1_000, 50_000_000),
                attributes=[
                    _kv("http.method", "GET"),
                    _kv("http.route", f"/api/{rng.choice(WORDS)}"),
                    _kv("http.status_code", rng.choice((200, 404, 500))),
                    _kv("net.peer.name", f"peer-{rng.randint(1, 20)}"),
                    _kv("retry", rng.random() < 0.1),
                ],
                events=[
                    trace_pb2.Span.Event(
                        time_unix_nano=t + 500,
                        name="exception",
                        attributes=[_kv("exception.message", _sentence(rng, 40))],
                    )
                ],
            )
            if rng.random() < 0.1:
                span.links.append(
                    trace_pb2.Span.Link(
                        trace_id=rng.randbytes(16),
                        span_id=rng.randbytes(8),
                        attributes=[_kv("link.kind", "follows")],
                    )
                )
            span.status.code = rng.choice((0, 1, 2))
            ss.spans.append(span)
        requests.append(request.SerializeToString())
    return Workload("T", "traces", total, requests)


def metrics(total: int = SIZES["M"], seed: int = 3) -> Workload:
    rng = random.Random(seed)
    requests = []
    points_per_metric = 50
    bounds = [1, 2, 5, 10, 20, 50, 100, 200, 500]  # 9 bounds: 10 buckets
    for start in range(0, total, REQUEST_RECORDS):
        n = min(REQUEST_RECORDS, total - start)
        request = ExportMetricsServiceRequest()
        rm = request.resource_metrics.add(resource=_resource(start // REQUEST_RECORDS % 4))
        sm = rm.scope_metrics.add()
        sm.scope.name = "bench.meter"
        done = k = 0
        while done < n:
            count = min(points_per_metric, n - done)
            kind = ("gauge", "sum", "histogram")[k % 3]
            metric = sm.metrics.add(name=f"bench.{kind}.{k}", unit="ms", description=kind)
            for i in range(count):
                t = BASE_NS + (start + done + i) * 1_000_000
                attrs = [
                    _kv("host", f"h{rng.randint(1, 9)}"),
                    _kv("route", f"/api/{rng.choice(WORDS)}"),
                    _kv("code", rng.choice((200, 500))),
                ]
                if kind == "histogram":
                    counts = [rng.randint(0, 100) for _ in range(len(bounds) + 1)]
                    metric.histogram.aggregation_temporality = 2
                    metric.histogram.data_points.append(
                        metrics_pb2.HistogramDataPoint(
                            attributes=attrs,
                            start_time_unix_nano=t - 10**9,
                            time_unix_nano=t,
                            count=sum(counts),
                            sum=rng.random() * 1000,
                            bucket_counts=counts,
                            explicit_bounds=bounds,
                            min=0.1,
                            max=900,
                        )
                    )
                else:
                    point = metrics_pb2.NumberDataPoint(
                        attributes=attrs,
                        start_time_unix_nano=t - 10**9,
                        time_unix_nano=t,
                        as_double=rng.random() * 100,
                    )
                    if kind == "gauge":
                        metric.gauge.data_points.append(point)
                    else:
                        metric.sum.aggregation_temporality = 2
                        metric.sum.is_monotonic = True
                        metric.sum.data_points.append(point)
            done += count
            k += 1
        requests.append(request.SerializeToString())
    return Workload("M", "metrics", total, requests)


BUILDERS = {"L": logs, "T": traces, "M": metrics}


def workload(name: str, scale: float = 1.0) -> Workload:
    """Workload ``name`` (L, T or M) at ``scale`` times its nominal size."""
    return BUILDERS[name](max(REQUEST_RECORDS, int(SIZES[name] * scale)))
