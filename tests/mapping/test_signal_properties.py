"""Property tests: random valid OTLP requests never make a mapper raise, keep their row counts,
and give the same tables from protobuf and from OTLP/JSON. SIGNAL_EXAMPLES=500 searches harder."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.trace.v1 import trace_pb2 as t

from otlp2parquet.schema.tables import load_table_schema
from support.signal_samples import attrs, decoder, mapper, otlp_json

SETTINGS = settings(
    max_examples=int(os.environ.get("SIGNAL_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
u64 = st.integers(0, 2**64 - 1)
u32 = st.integers(0, 2**32 - 1)
# OTLP/JSON takes IDs of their own size only (other lengths are a 400, tested in
# test_otlp_json_mapping), so both encodings are drawn with empty or right-sized IDs.
trace_ids = st.sampled_from([b"", bytes(16)]) | st.binary(min_size=16, max_size=16)
span_ids = st.sampled_from([b"", bytes(8)]) | st.binary(min_size=8, max_size=8)
numbers = st.floats(allow_nan=False)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | text | st.floats()
    | st.binary(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=5,
)  # fmt: skip
attributes = st.lists(st.tuples(text, values), max_size=4).map(attrs)


def groups(records: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[Any]:
    """[(resource attributes, schema url, [(scope name, scope attributes, records)])]."""
    scope = st.tuples(text, attributes, records)
    return st.lists(st.tuples(attributes, text, st.lists(scope, max_size=3)), max_size=3)


log_records = st.lists(
    st.builds(
        LogRecord, time_unix_nano=u64, observed_time_unix_nano=u64,
        severity_number=st.integers(0, 30), severity_text=text, attributes=attributes,
        flags=u32, trace_id=trace_ids, span_id=span_ids, event_name=text,
        body=values.map(lambda v: attrs([("", v)])[0].value),
    ),
    max_size=4,
)  # fmt: skip


@st.composite
def spans(draw: st.DrawFn) -> list[t.Span]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        span = t.Span(
            trace_id=draw(trace_ids), span_id=draw(span_ids), parent_span_id=draw(span_ids),
            trace_state=draw(text), name=draw(text), kind=draw(st.integers(0, 8)),
            start_time_unix_nano=draw(u64), end_time_unix_nano=draw(u64),
            attributes=draw(attributes),
        )  # fmt: skip
        span.status.code = draw(st.integers(0, 4))
        span.status.message = draw(text)
        for _ in range(draw(st.integers(0, 2))):
            span.events.add(time_unix_nano=draw(u64), name=draw(text)).attributes.extend(
                draw(attributes)
            )
        for _ in range(draw(st.integers(0, 2))):
            span.links.add(trace_id=draw(trace_ids), span_id=draw(span_ids), trace_state=draw(text))
        out.append(span)
    return out


@st.composite
def exemplars(draw: st.DrawFn) -> list[m.Exemplar]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        exemplar = m.Exemplar(
            time_unix_nano=draw(u64), trace_id=draw(trace_ids), span_id=draw(span_ids),
            filtered_attributes=draw(attributes),
        )  # fmt: skip
        kind = draw(st.sampled_from(["as_double", "as_int", None]))
        if kind:
            setattr(exemplar, kind, draw(numbers if kind == "as_double" else st.integers(-9, 9)))
        out.append(exemplar)
    return out


@st.composite
def metrics(draw: st.DrawFn) -> list[m.Metric]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        metric = m.Metric(name=draw(text), description=draw(text), unit=draw(text))
        kind = draw(st.sampled_from(
            ["gauge", "sum", "histogram", "exponential_histogram", "summary", None]
        ))  # fmt: skip
        for _ in range(draw(st.integers(0, 3)) if kind else 0):
            data = getattr(metric, kind)
            point = data.data_points.add(
                start_time_unix_nano=draw(u64), time_unix_nano=draw(u64), flags=draw(u32)
            )
            point.attributes.extend(draw(attributes))
            if kind in ("gauge", "sum"):
                choice = draw(st.sampled_from(["as_double", "as_int", None]))
                if choice:
                    setattr(
                        point,
                        choice,
                        draw(
                            numbers
                            if choice == "as_double"
                            else st.integers().filter(lambda n: -(2**63) <= n < 2**63)
                        ),
                    )
                point.exemplars.extend(draw(exemplars()))
            elif kind == "summary":
                point.count, point.sum = draw(u64), draw(numbers)
                for _ in range(draw(st.integers(0, 2))):
                    point.quantile_values.add(quantile=draw(numbers), value=draw(numbers))
            else:
                point.count = draw(u64)
                for field in ("sum", "min", "max"):
                    if draw(st.booleans()):
                        setattr(point, field, draw(numbers))
                point.exemplars.extend(draw(exemplars()))
                if kind == "histogram":
                    point.bucket_counts.extend(draw(st.lists(u64, max_size=3)))
                    point.explicit_bounds.extend(draw(st.lists(numbers, max_size=2)))
                else:
                    point.scale = draw(st.integers(-10, 20))
                    point.zero_count = draw(u64)
                    if draw(st.booleans()):
                        point.positive.offset = draw(st.integers(-(2**31), 2**31 - 1))
                        point.positive.bucket_counts.extend(draw(st.lists(u64, max_size=3)))
            if kind in ("sum", "histogram", "exponential_histogram"):
                data.aggregation_temporality = draw(st.integers(0, 2))
        if kind and not getattr(metric, kind).data_points:
            getattr(metric, kind).SetInParent()
        out.append(metric)
    return out


def build(request: Any, field: str, scopes_field: str, records_field: str, drawn: Any) -> Any:
    for resource_attributes, schema_url, scopes in drawn:
        group = getattr(request, field).add(schema_url=schema_url)
        group.resource.attributes.extend(resource_attributes)
        for name, scope_attributes, records in scopes:
            scope = getattr(group, scopes_field).add()
            scope.scope.name = name
            scope.scope.attributes.extend(scope_attributes)
            getattr(scope, records_field).extend(records)
    return request


def check(signal: str, request: Any) -> Any:
    """Map protobuf and OTLP/JSON encodings: no errors, equal tables, declared schemas."""
    batch = mapper(signal).map(decoder("protobuf").decode(request.SerializeToString(), signal))
    again = mapper(signal).map(decoder("json").decode(otlp_json(request), signal))
    assert batch.tables.keys() == again.tables.keys()
    for name, table in batch.tables.items():
        assert table.schema == load_table_schema(name).arrow_schema
        assert table.equals(again.tables[name]), name
    assert (batch.rejected, batch.reasons) == (again.rejected, again.reasons)
    return batch


@given(groups(log_records))
@SETTINGS
def test_random_logs(drawn: Any) -> None:
    request = build(ExportLogsServiceRequest(), "resource_logs", "scope_logs", "log_records", drawn)
    batch = check("logs", request)
    records = sum(len(s.log_records) for g in request.resource_logs for s in g.scope_logs)
    assert batch.rows == records and batch.rejected == 0


@given(groups(spans()))
@SETTINGS
def test_random_traces(drawn: Any) -> None:
    request = build(ExportTraceServiceRequest(), "resource_spans", "scope_spans", "spans", drawn)
    batch = check("traces", request)
    total = sum(len(s.spans) for g in request.resource_spans for s in g.scope_spans)
    assert batch.rows == total and batch.rejected == 0
    if total:
        assert min(batch.tables["traces"].column("Duration").to_pylist()) >= 0


@given(groups(metrics()))
@SETTINGS
def test_random_metrics(drawn: Any) -> None:
    request = build(
        ExportMetricsServiceRequest(), "resource_metrics", "scope_metrics", "metrics", drawn
    )
    batch = check("metrics", request)
    expected = 0
    for metric in (x for g in request.resource_metrics for s in g.scope_metrics for x in s.metrics):
        kind = metric.WhichOneof("data")
        points = getattr(metric, kind).data_points if kind else []
        expected += len(points) or 1  # a metric without points is one rejected record
    assert batch.rows + batch.rejected == expected
