"""OTLP requests for the signal tests, built with opentelemetry-proto, and their JSON forms.

``full_requests()`` covers every signal, every metric type, every AnyValue kind, events, links,
exemplars, and empty and missing fields. ``otlp_json`` writes a request the way OTLP/JSON
senders do (hex IDs, enums as numbers); ``protobuf_json`` the way protobuf's own printer does
(base64 IDs, enum names).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.trace.v1 import trace_pb2 as t

EXAMPLES = Path(__file__).parents[1] / "data" / "otlp-examples"
REQUEST_TYPES: dict[str, Any] = {
    "logs": ExportLogsServiceRequest,
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}
ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})
T0 = 1_700_000_000_123_456_789
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN = bytes.fromhex("eee19b7ec3c1b174")


def value(v: Any) -> AnyValue:
    """A Python value as AnyValue (None: empty)."""
    if v is None:
        return AnyValue()
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[value(x) for x in v]))
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(values=attrs(v)))
    return AnyValue(string_value=v)


def attrs(items: dict[str, Any] | list[tuple[str, Any]]) -> list[KeyValue]:
    pairs = items.items() if isinstance(items, dict) else items
    return [KeyValue(key=k, value=value(v)) for k, v in pairs]


#: Every AnyValue kind, with keys out of order and one key sent twice (the last one wins).
ALL_KINDS: list[tuple[str, Any]] = [
    ("z.string", "text ü 雪"),
    ("a.bool", True),
    ("b.false", False),
    ("c.int", -42),
    ("c.big", 2**63 - 1),
    ("d.double", 637.704),
    ("d.whole", 5.0),
    ("d.tiny", 1e-7),
    ("d.huge", 1e21),
    ("d.nan", float("nan")),
    ("d.inf", float("-inf")),
    ("e.bytes", b"\x00\x01\xfe"),
    ("f.array", ["many", 1, 2.5, True, b"\x01", None, {"k": "v"}]),
    ("g.kvlist", {"b": 1, "a": [1.0, "x"], "c": None}),
    ("h.empty", None),
    ("i.empty.string", ""),
    ("j.empty.array", []),
    ("k.long", "x" * 300),
    ("k.longer", "y" * 20000),
    ("a.bool", "sent twice"),
]
RESOURCE = {"service.name": "checkout", "host.name": "h1", "pid": 4242}


def full_logs() -> ExportLogsServiceRequest:
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    request = ExportLogsServiceRequest()
    first = request.resource_logs.add(schema_url="https://opentelemetry.io/schemas/1.21.0")
    first.resource.attributes.extend(attrs(RESOURCE))
    scope = first.scope_logs.add(schema_url="https://scope/1")
    scope.scope.name, scope.scope.version = "lib", "1.2.3"
    scope.scope.attributes.extend(attrs({"scope.k": "v"}))
    scope.log_records.extend(
        [
            LogRecord(
                time_unix_nano=T0, observed_time_unix_nano=T0 + 5, severity_number=9,
                severity_text="INFO", body=value("hello"), attributes=attrs(ALL_KINDS),
                trace_id=TRACE, span_id=SPAN, flags=0x1FF, event_name="my.event",
            ),
            LogRecord(observed_time_unix_nano=T0 + 7, body=value({"type": 0, "url": "u"})),
            LogRecord(trace_id=bytes(16), span_id=bytes(8), body=value([1, "a"])),
            LogRecord(body=value(2.5), severity_number=24, attributes=attrs({"only": 1})),
        ]
    )  # fmt: skip
    first.scope_logs.add()  # a scope without records
    second = request.resource_logs.add()  # no resource at all: ServiceName ''
    second.scope_logs.add().log_records.add(time_unix_nano=T0 + 1_000_000_000)
    return request


def full_traces() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    group = request.resource_spans.add()
    group.resource.attributes.extend(attrs(RESOURCE))
    scope = group.scope_spans.add()
    scope.scope.name = "tracer"
    for kind in range(6):
        span = scope.spans.add(
            trace_id=TRACE, span_id=bytes([kind + 1]) * 8, name=f"span {kind}", kind=kind,
            start_time_unix_nano=T0, end_time_unix_nano=T0 + kind * 1000,
            attributes=attrs({"k": kind, "d": kind / 3}),
        )  # fmt: skip
        span.status.code = kind % 3
        span.status.message = "failed" if kind % 3 == 2 else ""
    root = scope.spans[0]
    root.parent_span_id = b""
    root.trace_state = "vendor=1"
    scope.spans[1].parent_span_id = SPAN
    scope.spans[2].end_time_unix_nano = T0 - 5  # ends before it starts: Duration 0
    scope.spans[3].events.extend(
        [
            t.Span.Event(time_unix_nano=T0 + 1, name="exception", attributes=attrs(ALL_KINDS)),
            t.Span.Event(name="bare"),
        ]
    )
    scope.spans[4].links.extend(
        [
            t.Span.Link(
                trace_id=TRACE, span_id=SPAN, trace_state="a=b", attributes=attrs({"l": 1})
            ),
            t.Span.Link(),
        ]
    )
    scope.spans.add()  # every field missing
    return request


def full_metrics() -> ExportMetricsServiceRequest:
    exemplars = [
        m.Exemplar(time_unix_nano=T0, as_double=1.5, trace_id=TRACE, span_id=SPAN,
                   filtered_attributes=attrs({"user": "u1", "a": 2})),
        m.Exemplar(time_unix_nano=T0 + 1, as_int=7),
        m.Exemplar(),
    ]  # fmt: skip
    request = ExportMetricsServiceRequest()
    group = request.resource_metrics.add(schema_url="https://res")
    group.resource.attributes.extend(attrs(RESOURCE))
    scope = group.scope_metrics.add(schema_url="https://scope")
    scope.scope.name, scope.scope.version = "meter", "9"
    scope.scope.dropped_attributes_count = 3
    metrics = scope.metrics
    gauge = metrics.add(name="g", description="a gauge", unit="1")
    gauge.gauge.data_points.extend(
        [
            m.NumberDataPoint(time_unix_nano=T0, as_double=1.25, attributes=attrs({"x": "1"})),
            m.NumberDataPoint(time_unix_nano=T0, as_int=-3, exemplars=exemplars, flags=1),
            m.NumberDataPoint(time_unix_nano=T0),  # no value: rejected
        ]
    )
    total = metrics.add(name="s", unit="By")
    total.sum.aggregation_temporality = 2
    total.sum.is_monotonic = True
    total.sum.data_points.add(start_time_unix_nano=T0 - 10, time_unix_nano=T0, as_int=10)
    histogram = metrics.add(name="h")
    histogram.histogram.aggregation_temporality = 1
    histogram.histogram.data_points.extend(
        [
            m.HistogramDataPoint(time_unix_nano=T0, count=3, sum=6.5, min=0.5, max=4.0,
                                 bucket_counts=[1, 2, 0], explicit_bounds=[1.0, 5.0],
                                 exemplars=exemplars[:1]),
            m.HistogramDataPoint(time_unix_nano=T0, count=0),  # no sum, min, max: nulls
            m.HistogramDataPoint(time_unix_nano=T0, count=2**64 - 1, sum=0.0),
        ]
    )  # fmt: skip
    exponential = metrics.add(name="e")
    exponential.exponential_histogram.aggregation_temporality = 2
    point = exponential.exponential_histogram.data_points.add(
        time_unix_nano=T0, count=5, sum=12.0, scale=-2, zero_count=1, min=-1.0, zero_threshold=0.1
    )
    point.positive.offset = 3
    point.positive.bucket_counts.extend([1, 2])
    point.exemplars.extend(exemplars[1:2])
    exponential.exponential_histogram.data_points.add(time_unix_nano=T0, count=0)
    summary = metrics.add(name="q", description="a summary")
    summary.summary.data_points.add(
        time_unix_nano=T0, count=4, sum=10.0,
        quantile_values=[m.SummaryDataPoint.ValueAtQuantile(quantile=q, value=q * 10)
                         for q in (0.0, 0.5, 1.0)],
    )  # fmt: skip
    summary.summary.data_points.add(time_unix_nano=T0)
    metrics.add(name="nodata")  # no data: rejected
    metrics.add(name="nopoints").gauge.SetInParent()  # no data points: rejected
    other = request.resource_metrics.add()
    other.scope_metrics.add().metrics.add(name="g2").gauge.data_points.add(as_double=2.0)
    return request


def full_requests() -> dict[str, Any]:
    return {"logs": full_logs(), "traces": full_traces(), "metrics": full_metrics()}


def _ids_to_hex(node: Any, upper: bool) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, item in node.items():
            if key in ID_KEYS and isinstance(item, str):
                text = base64.b64decode(item).hex()
                out[key] = text.upper() if upper else text
            else:
                out[key] = _ids_to_hex(item, upper)
        return out
    if isinstance(node, list):
        return [_ids_to_hex(item, upper) for item in node]
    return node


def otlp_json(request: Any, upper: bool = False) -> bytes:
    """OTLP/JSON as the OpenTelemetry SDKs write it: hex IDs, enums as numbers."""
    tree = MessageToDict(request, use_integers_for_enums=True)
    return json.dumps(_ids_to_hex(tree, upper)).encode()


def protobuf_json(request: Any) -> bytes:
    """JSON as protobuf's printer writes it: base64 IDs, enum names."""
    return json.dumps(MessageToDict(request)).encode()


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def example_protobuf(name: str, signal: str) -> Any:
    """An OTLP/JSON example file as a protobuf message."""
    tree = json.loads(example(name))

    def to_base64(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: base64.b64encode(bytes.fromhex(v)).decode() if k in ID_KEYS else to_base64(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [to_base64(x) for x in node]
        return node

    return ParseDict(to_base64(tree), REQUEST_TYPES[signal]())


def mapper(signal: str) -> Any:
    """The built-in schema mapper of a signal, built as the pipeline builds it."""
    from otlp2parquet.plugins import map_logs, map_metrics, map_traces
    from otlp2parquet.schema.tables import load_table_schema

    found: dict[str, Any] = {}

    def register(name: str, factory: Any, **meta: Any) -> None:
        found[meta["signal"]] = (factory, meta["tables"])

    for module in (map_logs, map_traces, map_metrics):
        module.register_schema_mappers(register)
    factory, tables = found[signal]
    return factory({name: load_table_schema(name) for name in tables})


def decoder(name: str) -> Any:
    """A built-in decoder by name: protobuf, json or jsonl."""
    from otlp2parquet.plugins import decode_json, decode_protobuf

    found: dict[str, Any] = {}

    def register(name: str, factory: Any, **meta: Any) -> None:
        found[name] = factory

    decode_json.register_decoders(register)
    decode_protobuf.register_decoders(register)
    return found[name]({})
