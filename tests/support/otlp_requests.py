"""OTLP/JSON requests for the Iceberg end-to-end tests: logs, traces and every metric type,
from two services over two UTC hours (2024-05-01 10:xx and 11:xx)."""

from __future__ import annotations

import json
from typing import Any

#: 2024-05-01T10:00:00Z in nanoseconds.
T10 = 1_714_557_600_000_000_000
T11 = T10 + 3_600_000_000_000
SERVICES = ("checkout", "cart")
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def _resource(service: str) -> dict[str, Any]:
    return {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}


def _points() -> list[tuple[str, int, int]]:
    """(service, base time ns, index) for 2 services x 2 hours x 2 records."""
    return [
        (service, base + (i + 1) * 60_000_000_000, i)
        for service in SERVICES
        for base in (T10, T11)
        for i in range(2)
    ]


def logs_request() -> bytes:
    groups = {}
    for service, when, i in _points():
        record = {
            "timeUnixNano": str(when),
            "severityNumber": 9,
            "severityText": "Info",
            "body": {"stringValue": f"{service} log {when} {i}"},
            "traceId": TRACE_ID,
            "spanId": SPAN_ID,
            "attributes": [{"key": "n", "value": {"intValue": str(i)}}],
        }
        groups.setdefault(service, []).append(record)
    return json.dumps(
        {
            "resourceLogs": [
                {"resource": _resource(s), "scopeLogs": [{"scope": {"name": "t"}, "logRecords": r}]}
                for s, r in groups.items()
            ]
        }
    ).encode()


def traces_request() -> bytes:
    groups = {}
    for service, when, i in _points():
        span = {
            "traceId": TRACE_ID,
            "spanId": f"{when % 10**16:016x}",
            "name": f"GET /{i}",
            "kind": 2,
            "startTimeUnixNano": str(when),
            "endTimeUnixNano": str(when + 1_500_000),
            "status": {"code": 1},
        }
        groups.setdefault(service, []).append(span)
    return json.dumps(
        {
            "resourceSpans": [
                {"resource": _resource(s), "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}
                for s, spans in groups.items()
            ]
        }
    ).encode()


def _metric(kind: str, when: int, i: int) -> dict[str, Any]:
    point: dict[str, Any] = {
        "timeUnixNano": str(when),
        "startTimeUnixNano": str(T10),
        "attributes": [{"key": "i", "value": {"intValue": str(i)}}],
    }
    if kind == "gauge":
        return {"gauge": {"dataPoints": [{**point, "asDouble": 1.5 + i}]}}
    if kind == "sum":
        body = {"dataPoints": [{**point, "asInt": str(10 + i)}]}
        return {"sum": {**body, "aggregationTemporality": 2, "isMonotonic": True}}
    if kind == "histogram":
        point |= {"count": "3", "sum": 6.0 + i, "bucketCounts": ["1", "2"], "explicitBounds": [2.0]}
        return {"histogram": {"dataPoints": [point], "aggregationTemporality": 2}}
    if kind == "exponentialHistogram":
        point |= {
            "count": "4",
            "sum": 8.0,
            "scale": 1,
            "zeroCount": "1",
            "positive": {"offset": 1, "bucketCounts": ["1", "2"]},
        }
        return {"exponentialHistogram": {"dataPoints": [point], "aggregationTemporality": 2}}
    point |= {
        "count": "5",
        "sum": 10.0 + i,
        "quantileValues": [{"quantile": 0.5, "value": 2.0}, {"quantile": 1.0, "value": 4.0}],
    }
    return {"summary": {"dataPoints": [point]}}


METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")


def metrics_request() -> bytes:
    groups = {}
    for service, when, i in _points():
        for kind in METRIC_KINDS:
            metric = {"name": f"m.{kind}", "unit": "1", **_metric(kind, when, i)}
            groups.setdefault(service, []).append(metric)
    return json.dumps(
        {
            "resourceMetrics": [
                {"resource": _resource(s), "scopeMetrics": [{"scope": {"name": "t"}, "metrics": m}]}
                for s, m in groups.items()
            ]
        }
    ).encode()
