"""Request bodies: media types and content encodings, with the payload limit enforced before
and after decompression (never inflating more than the limit)."""

from __future__ import annotations

import zlib

from otlp2parquet.errors import DecodeError, PayloadTooLarge, UnsupportedMediaType

ENCODINGS = ("gzip", "deflate", "identity")
_CHUNK = 64 * 1024


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def check_size(size: int, limit: int, stage: str) -> None:
    if size > limit:
        raise PayloadTooLarge(
            f"request body is larger than the {limit}-byte limit {stage} "
            f"(request.max_payload_bytes)"
        )


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, identity), stopping as soon as the output
    would pass ``limit`` bytes."""
    check_size(len(body), limit, "as sent")
    name = (encoding or "identity").strip().lower()
    if name in ("", "identity"):
        return body
    if name in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif name == "deflate":
        # RFC 9110 deflate is zlib-wrapped; some clients send raw deflate: accept both.
        wbits = zlib.MAX_WBITS if body[:1] and (body[0] & 0x0F) == 8 else -zlib.MAX_WBITS
    else:
        raise UnsupportedMediaType(
            f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or identity"
        )
    return _inflate(body, wbits, limit, name)


def _inflate(body: bytes, wbits: int, limit: int, name: str) -> bytes:
    out = bytearray()
    data = body
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            while data:
                out += inflater.decompress(data, limit + 1 - len(out))
                check_size(len(out), limit, "after decompression")
                data = inflater.unconsumed_tail
                if inflater.eof:
                    break
            out += inflater.flush(limit + 1 - len(out))
        except zlib.error as exc:
            raise DecodeError(f"body is not valid {name} data: {exc}") from None
        check_size(len(out), limit, "after decompression")
        if not inflater.eof:
            raise DecodeError(f"{name} body is truncated")
        data = inflater.unused_data
        if not data or name != "gzip":  # gzip allows several members back to back
            return bytes(out)
