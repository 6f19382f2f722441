"""How a captured file holds its OTLP messages: what the Collector's ``fileexporter`` writes and
what other tools capture.

- JSON (one request) or JSON Lines (one request a line): ``format: json``;
- protobuf, each message behind a 4-byte big-endian length: ``format: proto``; also the
  ``format: json`` + ``compression`` files of fileexporter releases before native compression,
  whose length-prefixed messages are each zstd-compressed (any message starting with zstd's or
  gzip's magic bytes is decompressed);
- protobuf, each message behind a varint length (protobuf's ``writeDelimitedTo``);
- one protobuf message (an ``Export*ServiceRequest`` as sent over OTLP/HTTP);

and any of them compressed as a whole with zstd or gzip (``.zst``/``.gz``, or the magic bytes).
"""

from __future__ import annotations

import gzip
import sys
import zlib
from pathlib import PurePath

from otlp2parquet import codecs
from otlp2parquet.errors import DecodeError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
COMPRESSED_SUFFIXES = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
FORMATS = (
    "OTLP JSON, JSON Lines, one protobuf request, protobuf requests each behind a 4-byte "
    "big-endian length (the Collector's fileexporter format: proto) or a varint length; "
    "each optionally gzip- or zstd-compressed as a whole (.gz, .zst or by magic bytes)"
)


class Unreadable(DecodeError):
    """A file in none of the formats ``convert`` reads; the message says what it holds."""


def _decompress(data: bytes, kind: str, name: str) -> bytes:
    try:
        if kind == "gzip":
            return gzip.decompress(data)
        return codecs.arrow_stream(data, "zstd", sys.maxsize, "zstd")
    except (OSError, EOFError, zlib.error, DecodeError) as exc:
        raise DecodeError(
            f"{name} looks {kind}-compressed but cannot be decompressed: {exc}"
        ) from None


def unwrap(data: bytes, name: str = "input") -> bytes:
    """Undo whole-file gzip or zstd, found by magic bytes (several members or frames allowed);
    a ``.gz``/``.zst`` name without them is an error."""
    if data.startswith(GZIP_MAGIC):
        return _decompress(data, "gzip", name)
    if data.startswith(ZSTD_MAGIC):
        return _decompress(data, "zstd", name)
    kind = COMPRESSED_SUFFIXES.get(PurePath(name.lower()).suffix)
    if kind is not None:
        raise Unreadable(
            f"named as {kind}-compressed but does not start with {kind}'s magic bytes "
            f"({describe(data)}); convert reads {FORMATS}"
        )
    return data


def describe(data: bytes) -> str:
    """What a file starts with, for error messages."""
    if not data:
        return "it is empty"
    head = data[:16]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return f"it starts with the text {text!r}"
    return f"it starts with the bytes {head.hex(' ')}"


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(buf) and shift < 64:
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def is_request(buf: bytes) -> bool:
    """Whether ``buf`` walks as an ``Export*ServiceRequest``: only field 1 (the resource
    entries), length-delimited, exactly to its end."""
    pos = 0
    try:
        while pos < len(buf):
            tag, pos = _varint(buf, pos)
            if tag != 0x0A:
                return False
            size, pos = _varint(buf, pos)
            pos += size
    except ValueError:
        return False
    return pos == len(buf)


def fixed_frames(data: bytes) -> list[bytes] | None:
    """The messages of a 4-byte big-endian length-prefixed file, or None when it is not one."""
    frames, pos = [], 0
    while pos < len(data):
        if pos + 4 > len(data):
            return None
        end = pos + 4 + int.from_bytes(data[pos : pos + 4], "big")
        if end > len(data):
            return None
        frames.append(data[pos + 4 : end])
        pos = end
    return frames or None


def varint_frames(data: bytes) -> list[bytes] | None:
    """The messages of a varint length-delimited file whose every message walks as a request,
    or None."""
    frames, pos = [], 0
    try:
        while pos < len(data):
            size, pos = _varint(data, pos)
            if pos + size > len(data) or not is_request(data[pos : pos + size]):
                return None
            frames.append(data[pos : pos + size])
            pos += size
    except ValueError:
        return None
    return frames or None


def frame_encoding(frame: bytes) -> str:
    return "json" if frame.lstrip(b" \t\r\n").startswith(b"{") else "protobuf"


def split(name: str, data: bytes, json_encoding: str | None) -> tuple[str, list[tuple[str, bytes]]]:
    """(framing, [(encoding, message)]) of an unwrapped file. ``json_encoding`` is ``json`` or
    ``jsonl`` when the file is JSON text (by name, content or ``--format``), else None. Raises
    Unreadable."""
    frames = fixed_frames(data)
    if frames is not None:
        messages = [unwrap(f, f"{name} message {n}") for n, f in enumerate(frames, 1)]
        return "4-byte length-prefixed", [(frame_encoding(m), m) for m in messages]
    if json_encoding is not None:
        return json_encoding, [(json_encoding, data)]
    if is_request(data):
        return "protobuf", [("protobuf", data)]
    frames = varint_frames(data)
    if frames is not None:
        return "varint-delimited", [("protobuf", f) for f in frames]
    if data.startswith(b"\x0a"):  # a damaged request: the decoder says where
        return "protobuf", [("protobuf", data)]
    raise Unreadable(f"not a format convert reads: {describe(data)}; convert reads {FORMATS}")
