"""Request bodies: media types and content encodings, with the payload limit enforced before
and after decompression (never inflating more than the limit).

The ``Content-Encoding`` values are those the OpenTelemetry Collector's ``confighttp`` server
accepts: ``gzip``; ``zlib`` and ``deflate`` (both zlib-wrapped; raw deflate is accepted too);
``zstd``; ``snappy`` (block format, or the framing format detected by its stream identifier);
``x-snappy-framed`` (framing format); ``lz4`` (LZ4 frame format); and ``identity``. zstd, snappy
and lz4 need pyarrow: where it is missing (the Cloudflare Worker) they are answered 415.
"""

from __future__ import annotations

import zlib

from otlp2parquet import codecs
from otlp2parquet.codecs import check_size
from otlp2parquet.errors import UnsupportedMediaType

__all__ = ["ENCODINGS", "check_encoding", "check_size", "decompress", "media_type"]

#: Every Content-Encoding this package decodes (``ARROW_ENCODINGS`` only with pyarrow).
ZLIB_ENCODINGS = ("gzip", "deflate", "zlib")
ARROW_ENCODINGS = ("zstd", "snappy", "x-snappy-framed", "lz4")
ENCODINGS = (*ZLIB_ENCODINGS, *ARROW_ENCODINGS, "identity")
_ALIASES = {"": "identity", "x-gzip": "gzip"}
_ARROW_CODEC = {"zstd": "zstd", "lz4": "lz4", "snappy": "snappy", "x-snappy-framed": "snappy"}


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def supported_encodings() -> tuple[str, ...]:
    """The Content-Encoding values this runtime decodes."""
    have = codecs.arrow_codecs()
    return tuple(e for e in ENCODINGS if e not in _ARROW_CODEC or _ARROW_CODEC[e] in have)


def check_encoding(encoding: str | None) -> str:
    """The canonical name of ``encoding``; raises UnsupportedMediaType (415) naming the
    supported ones when this runtime cannot decode it."""
    name = (encoding or "").strip().lower()
    name = _ALIASES.get(name, name)
    if name in ZLIB_ENCODINGS or name == "identity":
        return name  # no pyarrow import for these
    supported = supported_encodings()
    if name in supported:
        return name
    missing = "" if name not in ENCODINGS else f" ({name} needs pyarrow, which is not installed)"
    raise UnsupportedMediaType(
        f"unsupported Content-Encoding {encoding!r}{missing}; supported: " + ", ".join(supported)
    )


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding``, stopping as soon as the output would pass ``limit`` bytes;
    raises PayloadTooLarge, DecodeError (corrupt or truncated) or UnsupportedMediaType."""
    check_size(len(body), limit, "as sent")
    name = check_encoding(encoding)
    if name == "identity":
        return body
    if name == "gzip":
        return codecs.inflate(body, 16 + zlib.MAX_WBITS, limit, name, members=True)
    if name in ("deflate", "zlib"):
        # Both are zlib-wrapped (RFC 9110, and the Collector); some clients send raw deflate.
        wrapped = len(body) >= 2 and (body[0] & 0x0F) == 8 and (body[0] << 8 | body[1]) % 31 == 0
        return codecs.inflate(body, zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS, limit, name)
    if name == "snappy":
        return codecs.snappy(body, limit, name, framed=None)
    if name == "x-snappy-framed":
        return codecs.snappy(body, limit, name, framed=True)
    return codecs.arrow_stream(body, _ARROW_CODEC[name], limit, name)
