"""Checks on a decoded OTLP/JSON request that msgspec's types cannot express, done in bulk:

- trace and span IDs are hex of exactly 16 and 8 bytes, or empty (the Collector answers any
  other length "length mismatch"); base64 of the right size, as protobuf's own JSON printer
  writes bytes, is accepted too. Each is normalized to lowercase hex.
- unsigned 64-bit fields (timestamps, counts) stay within 2^64-1: msgspec's bounds stop at
  int64, so a larger number would decode.

A failure is a DecodeError naming the field, the value and its JSON path.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import Any

import msgspec

from otlp2parquet.errors import DecodeError

U64_MAX = 2**64 - 1
#: Bytes in each kind of ID.
ID_BYTES = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*\Z")


#: Structs of one kind, their ID fields, their uint64 fields and their uint64 list fields.
Group = tuple[list[Any], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def groups(signal: str, request: Any) -> list[Group]:
    """The structs of one request that carry IDs or unsigned 64-bit fields, by kind."""
    if signal == "logs":
        records = [r for g in request.resource_logs for s in g.scope_logs for r in s.log_records]
        times = ("time_unix_nano", "observed_time_unix_nano")
        return [(records, ("trace_id", "span_id"), times, ())]
    if signal == "traces":
        spans = [x for g in request.resource_spans for s in g.scope_spans for x in s.spans]
        return [
            (
                spans,
                ("trace_id", "span_id", "parent_span_id"),
                ("start_time_unix_nano", "end_time_unix_nano"),
                (),
            ),
            ([x for span in spans for x in span.links], ("trace_id", "span_id"), (), ()),
            ([x for span in spans for x in span.events], (), ("time_unix_nano",), ()),
        ]
    return _metric_groups(request)


def _metric_groups(request: Any) -> list[Group]:
    by_kind: dict[str, list[Any]] = {}
    for group in request.resource_metrics:
        for scope in group.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                if kind is not None:
                    by_kind.setdefault(kind, []).extend(getattr(metric, kind).data_points)
    times = ("start_time_unix_nano", "time_unix_nano")
    numbers = by_kind.get("gauge", []) + by_kind.get("sum", [])
    histograms = by_kind.get("histogram", [])
    exponential = by_kind.get("exponential_histogram", [])
    with_exemplars = numbers + histograms + exponential
    return [
        (numbers, (), times, ()),
        (histograms, (), (*times, "count"), ("bucket_counts",)),
        (exponential, (), (*times, "count", "zero_count"), ()),
        ([b for p in exponential for b in (p.positive, p.negative)], (), (), ("bucket_counts",)),
        (by_kind.get("summary", []), (), (*times, "count"), ()),
        (
            [e for p in with_exemplars for e in p.exemplars],
            ("trace_id", "span_id"),
            ("time_unix_nano",),
            (),
        ),
    ]


def check(signal: str, request: Any) -> None:
    """Normalize every ID in place and check the uint64 fields; DecodeError at the first
    invalid value."""
    for owners, ids, u64s, u64_lists in groups(signal, request):
        if not owners:
            continue
        for name in ids:
            _normalize_ids(signal, request, owners, name)
        for name in u64s:
            if max(map(attrgetter(name), owners)) > U64_MAX:
                _too_large(signal, request, owners, name, map(attrgetter(name), owners))
        for name in u64_lists:
            tops = [max(values, default=0) for values in map(attrgetter(name), owners)]
            if max(tops) > U64_MAX:
                _too_large(signal, request, owners, name, tops)


def _too_large(
    signal: str, request: Any, owners: list[Any], name: str, values: Iterable[int]
) -> None:
    index, value = next((i, v) for i, v in enumerate(values) if v > U64_MAX)
    unit = " nanoseconds" if name.endswith("_nano") else ""
    raise DecodeError(
        f"{signal} request body is invalid OTLP/JSON: {_camel(name)} {str(value)[:40]} is beyond "
        f"2^64-1{unit} (uint64) - at `{_path_of(request, owners[index])}.{_camel(name)}`"
    )


def _normalize_ids(signal: str, request: Any, owners: list[Any], name: str) -> None:
    size = ID_BYTES[name]
    values = list(map(attrgetter(name), owners))
    for index in _not_lower_hex(values, size):
        try:
            fixed = normalize_id(values[index], size)
        except ValueError as exc:
            where = f"{_path_of(request, owners[index])}.{_camel(name)}"
            raise DecodeError(
                f"{signal} request body is invalid OTLP/JSON: {_camel(name)} "
                f"{values[index][:40]!r} {exc} - at `{where}`"
            ) from None
        msgspec.structs.force_setattr(owners[index], name, fixed)


def normalize_id(text: str, size: int) -> str:
    """An ID of ``size`` bytes, as hex (any case) or base64, in lowercase hex; empty stays
    empty. ValueError saying what is wrong otherwise."""
    if _HEX_DIGITS.match(text):
        if len(text) in (0, 2 * size):
            return text.lower()
        raise ValueError(
            f"has {len(text)} hex digits, not {2 * size} ({size} bytes): length mismatch"
        )
    padded = text + "=" * (-len(text) % 4)
    for altchars in (None, b"-_"):
        try:
            raw = base64.b64decode(padded, altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == size:  # base64 only at the right size: typos stay errors
            return raw.hex()
        plural = "" if len(raw) == 1 else "s"
        raise ValueError(f"is base64 of {len(raw)} byte{plural}, not {size}: length mismatch")
    raise ValueError(f"is neither hex nor base64 of {size} bytes")


@functools.cache
def _lower_hex(size: int) -> re.Pattern[str]:
    return re.compile(f"(?:[0-9a-f]{{{2 * size}}})?\\Z")


def _not_lower_hex(values: list[str], size: int) -> Iterator[int]:
    """Indexes of the values that are not empty or lowercase hex of ``size`` bytes: in bulk
    with pyarrow, one by one where it is not installed (the pyarrow-free Cloudflare Worker)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        match = _lower_hex(size).match
        return (i for i, value in enumerate(values) if match(value) is None)
    pattern = f"^(?:[0-9a-f]{{{2 * size}}})?$"
    ok = pc.match_substring_regex(pa.array(values, pa.string()), pattern)
    if ok.false_count == 0:
        return iter(())
    return (i for i, good in enumerate(ok.to_pylist()) if not good)


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
