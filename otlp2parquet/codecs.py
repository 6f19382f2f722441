"""Bounded decompressors for request bodies and captured files: each stops with
``PayloadTooLarge`` as soon as its output would pass ``limit`` bytes, so a decompression bomb is
never inflated in full, and raises ``DecodeError`` for corrupt or truncated input.

gzip and zlib/deflate use the standard library; zstd and LZ4 (frame format) stream through
pyarrow's codecs, snappy (block and framing format) uses pyarrow's snappy block codec. pyarrow is
imported only when one of those is asked for, so runtimes without it (the Cloudflare Worker)
keep gzip and zlib/deflate.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any

from otlp2parquet.errors import DecodeError, PayloadTooLarge

CHUNK = 64 * 1024
#: The stream identifier chunk that opens every snappy framing-format stream.
SNAPPY_FRAMED_MAGIC = b"\xff\x06\x00\x00sNaPpY"
_SNAPPY_MAX_CHUNK = 65536  # uncompressed bytes per framing-format data chunk


def check_size(size: int, limit: int, stage: str) -> None:
    if size > limit:
        raise PayloadTooLarge(
            f"request body is larger than the {limit}-byte limit {stage} "
            f"(request.max_payload_bytes)"
        )


def _grow(out: bytearray, data: bytes, limit: int) -> None:
    out += data
    check_size(len(out), limit, "after decompression")


# -- zlib family ------------------------------------------------------------------------------
def inflate(body: bytes, wbits: int, limit: int, name: str, members: bool = False) -> bytes:
    """gzip (``wbits`` 16+15), zlib (15) or raw deflate (-15); ``members``: gzip members may
    follow each other."""
    out = bytearray()
    data = body
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            while data:
                _grow(out, inflater.decompress(data, limit + 1 - len(out)), limit)
                data = inflater.unconsumed_tail
                if inflater.eof:
                    break
            _grow(out, inflater.flush(limit + 1 - len(out)), limit)
        except zlib.error as exc:
            raise DecodeError(f"body is not valid {name} data: {exc}") from None
        if not inflater.eof:
            raise DecodeError(f"{name} body is truncated")
        data = inflater.unused_data
        if not data or not members:
            return bytes(out)


# -- pyarrow codecs ---------------------------------------------------------------------------
@functools.cache
def arrow_codecs() -> frozenset[str]:
    """The pyarrow codecs this runtime has (``zstd``, ``lz4``, ``snappy``), none without it."""
    try:
        import pyarrow as pa
    except ImportError:
        return frozenset()
    return frozenset(c for c in ("zstd", "lz4", "snappy") if pa.Codec.is_available(c))


def _pa() -> Any:
    import pyarrow as pa

    return pa


def arrow_stream(body: bytes, codec: str, limit: int, name: str) -> bytes:
    """A zstd or LZ4-frame stream (frames back to back allowed), read in chunks."""
    pa = _pa()
    out = bytearray()
    try:
        stream = pa.CompressedInputStream(pa.BufferReader(body), codec)
        while chunk := stream.read(min(CHUNK, limit + 1 - len(out))):
            _grow(out, chunk, limit)
    except (OSError, pa.ArrowException) as exc:
        raise DecodeError(f"body is not valid {name} data: {exc}") from None
    return bytes(out)


# -- snappy -----------------------------------------------------------------------------------
def _varint(buf: bytes | memoryview, name: str) -> int:
    value = 0
    for i, byte in enumerate(buf[:5]):
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value
    raise DecodeError(f"body is not valid {name} data: bad uncompressed-length header")


def _snappy_block(block: bytes | memoryview, limit: int, name: str) -> bytes:
    """One snappy block: its declared length is checked before anything is allocated."""
    pa = _pa()
    size = _varint(block, name)
    check_size(size, limit, "after decompression")
    try:
        return bytes(pa.decompress(bytes(block), decompressed_size=size, codec="snappy"))
    except (OSError, pa.ArrowException) as exc:
        raise DecodeError(f"body is not valid {name} data: {exc}") from None


@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        for _ in range(8):
            n = (n >> 1) ^ 0x82F63B78 if n & 1 else n >> 1
        table.append(n)
    return tuple(table)


def python_crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) in Python, where google-crc32c is not installed."""
    table = _crc_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


@functools.cache
def _crc32c() -> Any:
    try:
        import google_crc32c
    except ImportError:
        return python_crc32c
    return google_crc32c.value


def _masked_crc(data: bytes) -> int:
    crc = _crc32c()(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def snappy_framed(body: bytes, limit: int, name: str) -> bytes:
    """The snappy framing format: chunks of type, 3-byte length and payload; data chunks carry
    a masked CRC-32C of their uncompressed bytes, which is verified."""
    if not body.startswith(SNAPPY_FRAMED_MAGIC):
        raise DecodeError(f"body is not valid {name} data: no stream identifier")
    view = memoryview(body)
    out = bytearray()
    pos = 0
    while pos < len(body):
        if pos + 4 > len(body):
            raise DecodeError(f"{name} body is truncated")
        kind, size = body[pos], int.from_bytes(body[pos + 1 : pos + 4], "little")
        chunk = view[pos + 4 : pos + 4 + size]
        if len(chunk) < size:
            raise DecodeError(f"{name} body is truncated")
        pos += 4 + size
        if kind == 0xFF:
            if bytes(chunk) != SNAPPY_FRAMED_MAGIC[4:]:
                raise DecodeError(f"body is not valid {name} data: bad stream identifier")
        elif kind in (0x00, 0x01):
            if size < 4:
                raise DecodeError(f"body is not valid {name} data: data chunk without checksum")
            payload = chunk[4:]
            if kind == 0x00 and _varint(payload, name) > _SNAPPY_MAX_CHUNK:
                raise DecodeError(f"body is not valid {name} data: chunk over 65536 bytes")
            data = bytes(payload) if kind else _snappy_block(payload, _SNAPPY_MAX_CHUNK, name)
            if len(data) > _SNAPPY_MAX_CHUNK:
                raise DecodeError(f"body is not valid {name} data: chunk over 65536 bytes")
            if _masked_crc(data) != int.from_bytes(chunk[:4], "little"):
                raise DecodeError(f"body is not valid {name} data: checksum mismatch")
            _grow(out, data, limit)
        elif kind < 0x80:
            raise DecodeError(f"body is not valid {name} data: reserved chunk type {kind:#04x}")
        # 0x80-0xfe: skippable (padding and reserved)
    return bytes(out)


def snappy(body: bytes, limit: int, name: str, framed: bool | None) -> bytes:
    """Snappy: the block format, or the framing format (``framed``; None: detected from the
    stream identifier, as the Collector does for ``snappy``)."""
    if framed is None:
        framed = body.startswith(SNAPPY_FRAMED_MAGIC)
    if framed:
        return snappy_framed(body, limit, name)
    return _snappy_block(body, limit, name)
