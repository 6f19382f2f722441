"""Decoders for OTLP/JSON (``application/json``) and JSON Lines (one request per line), decoded
with msgspec into structs that mirror the protobuf read API (``messages`` and ``metrics`` here).

Speed matters here, so the per-value work is kept out of msgspec hooks: enum names are rare and
handled by a second pass only when the fast decode fails, and trace/span IDs are checked and
normalized to lowercase hex in bulk after decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from otlp2parquet import hookimpl
from otlp2parquet.errors import DecodeError
from otlp2parquet.plugin.registry import Register

from . import checks as otlp_json_checks

JSON_TYPES = ("application/json",)
JSONL_TYPES = ("application/x-ndjson", "application/jsonl")
_BOM = b"\xef\xbb\xbf"
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)


def _request_types() -> dict[str, Any]:
    from . import messages as otlp_json
    from . import metrics as otlp_json_metrics

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
            # Another form the proto3 JSON mapping allows (proto field names, enum names,
            # nulls, unknown fields): rewrite the tree into the structs' form, then again.
            request = decoder.decode(msgspec.json.encode(self._normalized(text, signal)))
        otlp_json_checks.check(signal, request)
        return request

    def _normalized(self, text: bytes, signal: str) -> Any:
        from . import tree as otlp_json_tree

        try:
            return otlp_json_tree.normalize(msgspec.json.decode(text), self.types[signal])
        except otlp_json_tree.TreeError as exc:
            raise DecodeError(f"{signal} request body is invalid OTLP/JSON: {exc}") from None

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
