"""Checks on a decoded OTLP/JSON request that msgspec's types cannot express: trace and span
IDs (hex, or base64 as protobuf's JSON printer writes them) normalized to lowercase hex."""

from __future__ import annotations

import base64
import binascii
import re
from operator import attrgetter
from typing import Any

import msgspec

from otlp2parquet.errors import DecodeError

_LOWER_HEX = "^(?:[0-9a-f]{2})*$"
_LOWER_HEX_RE = re.compile(r"(?:[0-9a-f]{2})*\Z")


def _id_owners(signal: str, request: Any) -> list[tuple[list[Any], tuple[str, ...]]]:
    """The structs holding trace/span IDs, with the ID field names."""
    if signal == "logs":
        records = [r for g in request.resource_logs for s in g.scope_logs for r in s.log_records]
        return [(records, ("trace_id", "span_id"))]
    if signal == "traces":
        spans = [x for g in request.resource_spans for s in g.scope_spans for x in s.spans]
        links = [link for span in spans for link in span.links]
        return [
            (spans, ("trace_id", "span_id", "parent_span_id")),
            (links, ("trace_id", "span_id")),
        ]
    metrics = [m for g in request.resource_metrics for s in g.scope_metrics for m in s.metrics]
    exemplars = [
        e
        for m in metrics
        if (kind := m.WhichOneof("data")) and kind != "summary"
        for p in getattr(m, kind).data_points
        for e in p.exemplars
    ]
    return [(exemplars, ("trace_id", "span_id"))]


def normalize_id(text: str) -> str | None:
    """A hex (any case) or base64 (of 8 or 16 bytes) ID as lowercase hex; None when it is
    neither."""
    if len(text) % 2 == 0:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            pass
        else:
            if len(raw) * 2 == len(text):
                return raw.hex()
    padded = text + "=" * (-len(text) % 4)
    for altchars in (None, b"-_"):
        try:
            raw = base64.b64decode(padded, altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) in (8, 16):  # base64 only for IDs of the right size: typos stay errors
            return raw.hex()
    return None


def normalize_ids(signal: str, request: Any) -> None:
    """Turn every ID into lowercase hex in place; DecodeError naming the first invalid one."""
    for owners, fields in _id_owners(signal, request):
        for name in fields:
            values = list(map(attrgetter(name), owners))
            if not values:
                continue
            for index in _not_lower_hex(values):
                fixed = normalize_id(values[index])
                if fixed is None:
                    where = _path_of(request, owners[index]) + "." + _camel(name)
                    raise DecodeError(
                        f"{signal} request body is invalid OTLP/JSON: ID {values[index][:40]!r} "
                        f"is neither hex nor base64 - at `{where}`"
                    )
                msgspec.structs.force_setattr(owners[index], name, fixed)


def _not_lower_hex(values: list[str]) -> list[int]:
    """Indexes of the values that are not lowercase hex: in bulk with pyarrow, one by one
    where it is not installed (the pyarrow-free Cloudflare Worker)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        match = _LOWER_HEX_RE.match
        return [i for i, value in enumerate(values) if match(value) is None]
    ok = pc.match_substring_regex(pa.array(values, pa.string()), _LOWER_HEX)
    if ok.false_count == 0:
        return []
    return [i for i, good in enumerate(ok.to_pylist()) if not good]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _path_of(node: Any, target: Any, path: str = "$") -> str:
    """The JSON path of ``target`` inside ``node`` (for error messages only)."""
    if node is target:
        return path
    if isinstance(node, msgspec.Struct):
        for info in msgspec.structs.fields(node):
            found = _path_of(getattr(node, info.name), target, f"{path}.{info.encode_name}")
            if found:
                return found
    elif isinstance(node, tuple):
        for index, item in enumerate(node):
            found = _path_of(item, target, f"{path}[{index}]")
            if found:
                return found
    return ""
