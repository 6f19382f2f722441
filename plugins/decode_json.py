"""Decoders for OTLP/JSON (``application/json``) and JSON Lines (one request per line), decoded
with msgspec into structs that mirror the protobuf read API (``otlp2parquet.otlp_json``).

Speed matters here, so the per-value work is kept out of msgspec hooks: enum names are rare and
handled by a second pass only when the fast decode fails, and trace/span IDs are checked and
normalized to lowercase hex in bulk after decoding.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

import msgspec

from otlp2parquet import hookimpl
from otlp2parquet.errors import DecodeError
from otlp2parquet.registry import Register

JSON_TYPES = ("application/json",)
JSONL_TYPES = ("application/x-ndjson", "application/jsonl")
_BOM = b"\xef\xbb\xbf"
_LOWER_HEX = "^(?:[0-9a-f]{2})*$"
_LOWER_HEX_RE = re.compile(r"(?:[0-9a-f]{2})*\Z")
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)


def _request_types() -> dict[str, Any]:
    from otlp2parquet import otlp_json, otlp_json_metrics

    return {
        "logs": otlp_json.ExportLogsServiceRequest,
        "traces": otlp_json.ExportTraceServiceRequest,
        "metrics": otlp_json_metrics.ExportMetricsServiceRequest,
    }


def _problem(exc: Exception) -> str:
    if isinstance(exc, msgspec.ValidationError):
        return f"invalid OTLP/JSON: {exc}"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 (in a string at byte {exc.start} of it)"
    if "utf-8" in str(exc).lower():  # msgspec >= 0.19 reports it as a DecodeError
        return "not valid UTF-8 (in a string)"
    return f"not valid JSON: {exc}"


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


class JSONDecoder:
    """Body → one request; ``lines=True`` reads JSON Lines, blank lines skipped."""

    def __init__(self, options: Mapping[str, Any] | None = None, lines: bool = False) -> None:
        self.lines = lines
        self.types = _request_types()
        self.decoders = {
            signal: msgspec.json.Decoder(kind, strict=False) for signal, kind in self.types.items()
        }

    def decode(self, body: bytes, signal: str) -> list[Any]:
        if signal not in self.decoders:
            raise DecodeError(f"no OTLP request type for signal {signal!r}")
        body = body.removeprefix(_BOM)
        if self.lines:
            return self._decode_lines(body, signal)
        if not body.strip():
            return [self.types[signal]()]
        try:
            return [self._decode(body, signal)]
        except _DECODE_ERRORS as exc:
            raise DecodeError(f"{signal} request body is {_problem(exc)}") from None

    def _decode(self, text: bytes, signal: str) -> Any:
        decoder = self.decoders[signal]
        try:
            request = decoder.decode(text)
        except msgspec.ValidationError:
            # Perhaps enum names (protobuf's JSON printer writes them): numbers, then again.
            from otlp2parquet.otlp_json import enum_names_to_numbers

            tree = enum_names_to_numbers(msgspec.json.decode(text))
            request = decoder.decode(msgspec.json.encode(tree))
        normalize_ids(signal, request)
        return request

    def _decode_lines(self, body: bytes, signal: str) -> list[Any]:
        requests = []
        for number, line in enumerate(body.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                requests.append(self._decode(line, signal))
            except _DECODE_ERRORS as exc:
                raise DecodeError(f"line {number}: {signal} request is {_problem(exc)}") from None
            except DecodeError as exc:
                raise DecodeError(f"line {number}: {exc}") from None
        return requests


def json_lines_decoder(options: Mapping[str, Any] | None = None) -> JSONDecoder:
    return JSONDecoder(options, lines=True)


@hookimpl
def register_decoders(register: Register) -> None:
    register(name="json", factory=JSONDecoder, media_types=JSON_TYPES)
    register(name="jsonl", factory=json_lines_decoder, media_types=JSONL_TYPES)
