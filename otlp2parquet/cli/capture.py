"""Captured OTLP files (``otlp2parquet convert``): whole-file gzip or zstd, the framing of the
messages (``capture_frames``), the encoding from the file name or the content, and the signal
from the content or the file name.

Signal detection reads no more than it must: JSON is searched for its first ``resourceLogs`` /
``resourceSpans`` / ``resourceMetrics`` key (camelCase or snake_case), protobuf is walked on the
wire format down to the first record, whose field numbers and wire types differ per signal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import PurePath

from otlp2parquet.cli.capture_frames import COMPRESSED_SUFFIXES, unwrap

__all__ = ["EXTENSIONS", "MEDIA_TYPES", "detect_encoding", "detect_signal", "unwrap"]
MEDIA_TYPES = {
    "protobuf": "application/x-protobuf",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}
EXTENSIONS = {
    ".pb": "protobuf",
    ".binpb": "protobuf",
    ".protobuf": "protobuf",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_JSON_SIGNAL = re.compile(rb'"resource_?(logs|spans|metrics)"', re.IGNORECASE)
_NAME_HINTS = (("log", "logs"), ("trace", "traces"), ("span", "traces"), ("metric", "metrics"))
_SIGNAL_OF = {b"logs": "logs", b"spans": "traces", b"metrics": "metrics"}
# (field number, wire type) pairs only one signal's records carry (opentelemetry-proto).
_SPAN_MARKS = {(7, 1), (8, 1)}  # start/end time, fixed64
_LOG_MARKS = {(1, 1), (11, 1), (2, 0), (7, 0), (8, 5)}  # times, severity, dropped, flags
_METRIC_DATA = {(5, 2), (7, 2), (9, 2), (10, 2), (11, 2)}  # gauge, sum, histograms, summary


def detect_encoding(name: str, data: bytes) -> str:
    """``protobuf``, ``json`` or ``jsonl`` from the extension (``.gz``/``.zst`` ignored), else
    content. A ``.json`` file holding JSON lines (what the Collector's fileexporter writes with
    ``format: json``) is ``jsonl``."""
    path = PurePath(name.lower())
    suffix = PurePath(path.stem).suffix if path.suffix in COMPRESSED_SUFFIXES else path.suffix
    named = EXTENSIONS.get(suffix)
    if named is not None and named != "json":
        return named
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith((b"{", b"[")):
        return named or "protobuf"
    first, _, rest = text.partition(b"\n")
    if rest.strip() and first.strip().endswith(b"}"):
        try:
            json.loads(first)
        except ValueError:
            return "json"
        return "jsonl"
    return "json"


def detect_signal(name: str, data: bytes, encoding: str) -> str | None:
    """``logs``, ``traces`` or ``metrics``, or None when neither content nor name tell."""
    if encoding == "protobuf":
        found = _protobuf_signal(data)
    else:
        match = _JSON_SIGNAL.search(data)
        found = _SIGNAL_OF[match.group(1).lower()] if match else None
    if found:
        return found
    stem = PurePath(name).name.lower()
    hints = {signal for word, signal in _NAME_HINTS if word in stem}
    return hints.pop() if len(hints) == 1 else None


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(field number, wire type, payload of length-delimited fields) of one message."""
    pos = 0
    sizes = {1: 8, 5: 4}
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        payload = b""
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            payload = buf[pos : pos + size]
            pos += size
        elif wire in sizes:
            pos += sizes[wire]
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated field")
        yield number, wire, payload


def _children(buf: bytes, number: int) -> Iterator[bytes]:
    return (payload for n, wire, payload in _fields(buf) if n == number and wire == 2)


def _protobuf_signal(data: bytes) -> str | None:
    """Request → resource_* (1) → scope_* (2) → records (2): judge the first record."""
    try:
        for resource in _children(data, 1):
            for scope in _children(resource, 2):
                for record in _children(scope, 2):
                    marks = {(n, w) for n, w, _ in _fields(record)}
                    if marks & _SPAN_MARKS:
                        return "traces"
                    if marks & _LOG_MARKS:
                        return "logs"
                    if (1, 2) in marks and marks & _METRIC_DATA:
                        return "metrics"
                    return None
    except ValueError:
        return None
    return None
