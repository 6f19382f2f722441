"""Protobuf wire-format pieces the tests build bodies from."""

from __future__ import annotations


def varint(n: int) -> bytes:
    """``n`` as a protobuf base-128 varint."""
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def delimited(field: int, payload: bytes) -> bytes:
    """Field ``field`` (wire type 2) holding ``payload``."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def logs_request(records: list[bytes]) -> bytes:
    """An ExportLogsServiceRequest of one resource and one scope holding serialized ``records``."""
    scope = b"".join(delimited(2, record) for record in records)
    return delimited(1, delimited(2, scope))


def degenerate_bodies(size: int) -> dict[str, bytes]:
    """Logs requests of about ``size`` bytes that are cheap to send and were costly to read:
    one LogRecord of 2-byte fields that are unknown (field 4), of the wrong wire type (field 1,
    fixed64, sent as varints) or empty KeyValues, and millions of empty LogRecords."""
    pairs = size // 2 - 8
    return {
        "unknown field": logs_request([b"\x20\x00" * pairs]),
        "wrong wire type": logs_request([b"\x08\x00" * pairs]),
        "empty attributes": logs_request([b"\x32\x00" * pairs]),
        "empty records": logs_request([b""] * pairs),
    }
