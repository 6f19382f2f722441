"""Bodies compressed the way Collector clients send them, for the Content-Encoding tests: gzip,
zlib (for ``zlib`` and ``deflate``), raw deflate, zstd and LZ4 frames, and snappy in its block
and framing formats (the framing written here from the format description, with google-crc32c
for the checksums, independently of ``otlp2parquet.codecs``)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import google_crc32c
import pyarrow as pa

SNAPPY_STREAM_ID = b"\xff\x06\x00\x00sNaPpY"


def raw_deflate(data: bytes) -> bytes:
    deflater = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflater.compress(data) + deflater.flush()


def arrow(codec: str) -> Callable[[bytes], bytes]:
    return lambda data: pa.Codec(codec).compress(data, asbytes=True)


def masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def snappy_framed(data: bytes, compress: bool = True) -> bytes:
    """The snappy framing format: the stream identifier, then one data chunk per 64 KiB."""
    out = bytearray(SNAPPY_STREAM_ID)
    for start in range(0, len(data), 65536):
        part = data[start : start + 65536]
        payload = masked_crc(part).to_bytes(4, "little")
        payload += arrow("snappy")(part) if compress else part
        out += bytes([0x00 if compress else 0x01]) + len(payload).to_bytes(3, "little") + payload
    return bytes(out)


#: Content-Encoding → how to compress a body for it (``deflate`` as RFC 9110 and the Collector
#: send it: zlib-wrapped).
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zlib": zlib.compress,
    "zstd": arrow("zstd"),
    "lz4": arrow("lz4"),
    "snappy": arrow("snappy"),
    "x-snappy-framed": snappy_framed,
}
