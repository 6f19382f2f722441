"""The two references measured beside otlp2parquet on the same payloads.

- baseline: what a Python user writes first: ``json_format.MessageToDict`` per protobuf request
  (``json.loads`` per JSON body or line), one dict per row with the same columns as our tables,
  ``pyarrow.Table.from_pylist`` with the table's schema, ``pq.write_table`` (zstd);
- floor: only the unavoidable steps: parsing the payload (upb ``ParseFromString``, or msgspec for
  JSON) and ``pq.write_table`` of an already built table of the same shape, with our writer's
  settings.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.protobuf import json_format

from benchmarks.workloads import REQUEST_TYPES
from otlp2parquet.schema.tables import load_table_schema

SPAN_KINDS = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"]
STATUS_CODES = ["Unset", "Ok", "Error"]
Row = dict[str, Any]


def _text(value: dict[str, Any]) -> str:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return str(int(value["intValue"]))
    if "boolValue" in value:
        return "true" if value["boolValue"] else "false"
    if "doubleValue" in value:
        return repr(float(value["doubleValue"]))
    return json.dumps(value, sort_keys=True) if value else ""


def _attrs(items: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    return sorted({kv["key"]: _text(kv.get("value", {})) for kv in items or []}.items())


def _hex(value: str | None, b64: bool) -> str:
    if not value:
        return ""
    return base64.b64decode(value).hex() if b64 else value.lower()


def _us(value: Any) -> int:
    return int(value or 0) // 1000


def _log_rows(base: Row, scope_group: dict[str, Any], b64: bool) -> Iterator[tuple[str, Row]]:
    for r in scope_group.get("logRecords", []):
        yield (
            "logs",
            {
                **base,
                "Timestamp": _us(r.get("timeUnixNano") or r.get("observedTimeUnixNano")),
                "TraceId": _hex(r.get("traceId"), b64),
                "SpanId": _hex(r.get("spanId"), b64),
                "TraceFlags": r.get("flags", 0) & 0xFF,
                "SeverityText": r.get("severityText", ""),
                "SeverityNumber": r.get("severityNumber", 0),
                "Body": _text(r.get("body", {})),
                "LogAttributes": _attrs(r.get("attributes")),
                "EventName": r.get("eventName", ""),
            },
        )


def _span_rows(base: Row, scope_group: dict[str, Any], b64: bool) -> Iterator[tuple[str, Row]]:
    for s in scope_group.get("spans", []):
        start, end = int(s.get("startTimeUnixNano", 0)), int(s.get("endTimeUnixNano", 0))
        events, links = s.get("events", []), s.get("links", [])
        status = s.get("status", {})
        yield (
            "traces",
            {
                **base,
                "Timestamp": start // 1000,
                "TraceId": _hex(s.get("traceId"), b64),
                "SpanId": _hex(s.get("spanId"), b64),
                "ParentSpanId": _hex(s.get("parentSpanId"), b64),
                "TraceState": s.get("traceState", ""),
                "SpanName": s.get("name", ""),
                "SpanKind": SPAN_KINDS[s.get("kind", 0)],
                "SpanAttributes": _attrs(s.get("attributes")),
                "Duration": max(0, end - start),
                "StatusCode": STATUS_CODES[status.get("code", 0)],
                "StatusMessage": status.get("message", ""),
                "Events.Timestamp": [_us(e.get("timeUnixNano")) for e in events],
                "Events.Name": [e.get("name", "") for e in events],
                "Events.Attributes": [_attrs(e.get("attributes")) for e in events],
                "Links.TraceId": [_hex(x.get("traceId"), b64) for x in links],
                "Links.SpanId": [_hex(x.get("spanId"), b64) for x in links],
                "Links.TraceState": [x.get("traceState", "") for x in links],
                "Links.Attributes": [_attrs(x.get("attributes")) for x in links],
            },
        )


def _point_rows(base: Row, scope_group: dict[str, Any], b64: bool) -> Iterator[tuple[str, Row]]:
    for m in scope_group.get("metrics", []):
        for kind in ("gauge", "sum", "histogram"):
            data = m.get(kind)
            if not data:
                continue
            for p in data.get("dataPoints", []):
                row = {
                    **base,
                    "MetricName": m.get("name", ""),
                    "MetricDescription": m.get("description", ""),
                    "MetricUnit": m.get("unit", ""),
                    "Attributes": _attrs(p.get("attributes")),
                    "StartTimeUnix": _us(p.get("startTimeUnixNano")),
                    "TimeUnix": _us(p.get("timeUnixNano")),
                    "Flags": p.get("flags", 0),
                }
                if kind == "histogram":
                    row.update(
                        Count=int(p.get("count", 0)),
                        Sum=p.get("sum"),
                        BucketCounts=[int(c) for c in p.get("bucketCounts", [])],
                        ExplicitBounds=p.get("explicitBounds", []),
                        Min=p.get("min"),
                        Max=p.get("max"),
                        AggregationTemporality=data.get("aggregationTemporality", 0),
                    )
                else:
                    row["Value"] = float(p.get("asDouble", p.get("asInt", 0)))
                    if kind == "sum":
                        row["AggregationTemporality"] = data.get("aggregationTemporality", 0)
                        row["IsMonotonic"] = data.get("isMonotonic", False)
                yield f"metrics_{kind}", row


ROWS = {
    "logs": ("resourceLogs", "scopeLogs", _log_rows),
    "traces": ("resourceSpans", "scopeSpans", _span_rows),
    "metrics": ("resourceMetrics", "scopeMetrics", _point_rows),
}


def rows(signal: str, data: dict[str, Any], b64: bool) -> Iterator[tuple[str, Row]]:
    """(table, row) for every record of one decoded request."""
    resources, scopes, records = ROWS[signal]
    for resource_group in data.get(resources, []):
        resource = _attrs(resource_group.get("resource", {}).get("attributes"))
        for scope_group in resource_group.get(scopes, []):
            scope = scope_group.get("scope", {})
            base = {
                "ServiceName": dict(resource).get("service.name", ""),
                "ResourceAttributes": resource,
                "ResourceSchemaUrl": resource_group.get("schemaUrl", ""),
                "ScopeName": scope.get("name", ""),
                "ScopeVersion": scope.get("version", ""),
                "ScopeAttributes": _attrs(scope.get("attributes")),
                "ScopeSchemaUrl": scope_group.get("schemaUrl", ""),
                "ScopeDroppedAttrCount": scope.get("droppedAttributesCount", 0),
            }
            yield from records(base, scope_group, b64)


def baseline_run(signal: str, encoding: str, bodies: list[bytes]) -> int:
    """Decode, flatten to dict rows, from_pylist and write; returns rows written."""
    tables: dict[str, list[Row]] = {}
    for body in bodies:
        if encoding == "protobuf":
            message = REQUEST_TYPES[signal].FromString(body)
            datas = [json_format.MessageToDict(message, use_integers_for_enums=True)]
        else:
            datas = [json.loads(line) for line in body.splitlines() if line.strip()]
        for data in datas:
            for table, row in rows(signal, data, b64=encoding == "protobuf"):
                tables.setdefault(table, []).append(row)
    total = 0
    for name, table_rows in tables.items():
        schema = load_table_schema(name).arrow_schema
        table = pa.Table.from_pylist(table_rows, schema=schema)
        pq.write_table(table, io.BytesIO(), compression="zstd")
        total += table.num_rows
    return total


def floor_run(
    signal: str, encoding: str, bodies: list[bytes], tables: list[pa.Table], writer: Any
) -> int:
    """Only parse the payload and write already built tables of the same shape, as ``writer``
    (a ``ParquetWriter``) writes them."""
    import msgspec

    kind = REQUEST_TYPES[signal]
    for body in bodies:
        if encoding == "protobuf":
            kind.FromString(body)
        else:
            for line in body.splitlines():
                if line.strip():
                    msgspec.json.decode(line)
    rows = 0
    for table in tables:
        sink = pa.BufferOutputStream()
        pq.write_table(
            table,
            sink,
            compression=None if writer.compression == "none" else writer.compression,
            compression_level=writer.compression_level,
            row_group_size=writer.row_group_size,
            use_dictionary=True,
            write_statistics=True,
            write_page_index=True,
        )
        rows += table.num_rows
    return rows
