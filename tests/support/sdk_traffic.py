"""Telemetry from the OpenTelemetry Python SDK, sent through given exporters and read back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from support.otlp_server import rows


def wait_rows(data: Path, table: str, service: str, count: int) -> list[dict[str, Any]]:
    """The rows of ``service``, once the age-based flush has written ``count`` of them."""
    deadline = time.monotonic() + 15
    while True:
        found = [r for r in rows(data, table) if r["ServiceName"] == service]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, (table, service, found)
            return found
        time.sleep(0.1)


def send_everything(service: str, exporters: tuple[Any, Any, Any]) -> dict[str, str]:
    """Logs, spans and metrics of ``service`` through the given OTLP exporters; returns ids."""
    log_exporter, span_exporter, metric_exporter = exporters
    resource = Resource.create({"service.name": service, "team": "data"})

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = tracer_provider.get_tracer("py-tracer", "3.1.4")
    with tracer.start_as_current_span("handle", kind=trace.SpanKind.SERVER) as parent:
        parent.set_attribute("http.route", "/items/{id}")
        with tracer.start_as_current_span("lookup", kind=trace.SpanKind.CLIENT) as child:
            child.add_event("cache.miss", {"key": "item-7"})
            child.set_status(trace.StatusCode.ERROR, "not found")
        ids = {
            "trace": format(parent.get_span_context().trace_id, "032x"),
            "parent": format(parent.get_span_context().span_id, "016x"),
        }
        logs = InMemoryLogRecordExporter()
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
        logger = logger_provider.get_logger("py-logger", "0.2.0")
        logger.emit(
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="hello from python",
            attributes={"n": 42, "pi": 3.25, "ok": False},
        )
        logger.emit(
            severity_number=SeverityNumber.ERROR,
            body={"event": "checkout", "items": [1, 2]},
            event_name="shop.checkout",
        )
    assert span_exporter.export(spans.get_finished_spans()) == SpanExportResult.SUCCESS
    assert log_exporter.export(logs.get_finished_logs()).name == "SUCCESS"

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[reader],
        views=[
            View(instrument_name="py.size", aggregation=ExponentialBucketHistogramAggregation())
        ],
    )
    meter = meter_provider.get_meter("py-meter", "1.0")
    meter.create_counter("py.requests").add(5, {"code": "200"})
    meter.create_up_down_counter("py.active").add(-2)
    meter.create_histogram("py.latency", unit="ms").record(120.0)
    for value in (3, 6, 12):
        meter.create_histogram("py.size", unit="By").record(value)
    meter.create_gauge("py.temperature").set(19.5)
    meter.create_observable_gauge("py.cpu", callbacks=[lambda options: [_observation(0.75)]])
    meter.create_observable_counter("py.ticks", callbacks=[lambda options: [_observation(9)]])
    metrics = reader.get_metrics_data()
    assert metric_exporter.export(metrics) == MetricExportResult.SUCCESS
    for provider in (tracer_provider, logger_provider, meter_provider):
        provider.shutdown()
    return ids


def _observation(value: float) -> Any:
    from opentelemetry.metrics import Observation

    return Observation(value)


def check_parquet(data: Path, service: str, ids: dict[str, str]) -> None:
    """What ``send_everything`` sent, read back from the Parquet files."""
    logs = {r["Body"]: r for r in wait_rows(data, "logs", service, 2)}
    warn = logs["hello from python"]
    assert (warn["SeverityNumber"], warn["SeverityText"]) == (13, "WARN")
    assert dict(warn["LogAttributes"]) == {"n": "42", "pi": "3.25", "ok": "false"}
    assert (warn["TraceId"], warn["SpanId"]) == (ids["trace"], ids["parent"])
    assert (warn["ScopeName"], warn["ScopeVersion"]) == ("py-logger", "0.2.0")
    assert dict(warn["ResourceAttributes"])["team"] == "data"
    event = logs['{"event":"checkout","items":[1,2]}']
    assert (event["SeverityNumber"], event["EventName"]) == (17, "shop.checkout")

    spans = {r["SpanName"]: r for r in wait_rows(data, "traces", service, 2)}
    handle, lookup = spans["handle"], spans["lookup"]
    assert (handle["SpanKind"], handle["TraceId"], handle["SpanId"]) == (
        "Server",
        ids["trace"],
        ids["parent"],
    )
    assert dict(handle["SpanAttributes"]) == {"http.route": "/items/{id}"}
    assert (lookup["SpanKind"], lookup["ParentSpanId"]) == ("Client", ids["parent"])
    assert (lookup["StatusCode"], lookup["StatusMessage"]) == ("Error", "not found")
    assert lookup["Events.Name"] == ["cache.miss"]
    assert [dict(a) for a in lookup["Events.Attributes"]] == [{"key": "item-7"}]
    assert handle["Duration"] >= lookup["Duration"] > 0

    sums = {r["MetricName"]: r for r in wait_rows(data, "metrics/sum", service, 3)}
    assert (sums["py.requests"]["Value"], sums["py.requests"]["IsMonotonic"]) == (5, True)
    assert dict(sums["py.requests"]["Attributes"]) == {"code": "200"}
    assert (sums["py.active"]["Value"], sums["py.active"]["IsMonotonic"]) == (-2, False)
    assert sums["py.ticks"]["Value"] == 9
    assert {r["AggregationTemporality"] for r in sums.values()} == {2}  # cumulative
    gauges = {r["MetricName"]: r["Value"] for r in wait_rows(data, "metrics/gauge", service, 2)}
    assert gauges == {"py.temperature": 19.5, "py.cpu": 0.75}
    (hist,) = wait_rows(data, "metrics/histogram", service, 1)
    assert (hist["Count"], hist["Sum"], hist["Min"], hist["Max"]) == (1, 120.0, 120.0, 120.0)
    assert sum(hist["BucketCounts"]) == 1
    assert len(hist["BucketCounts"]) == len(hist["ExplicitBounds"]) + 1
    assert hist["MetricUnit"] == "ms"
    (exp,) = wait_rows(data, "metrics/exponential_histogram", service, 1)
    assert (exp["Count"], exp["Sum"], exp["Min"], exp["Max"]) == (3, 21.0, 3.0, 12.0)
    assert sum(exp["PositiveBucketCounts"]) == 3 and exp["ZeroCount"] == 0
