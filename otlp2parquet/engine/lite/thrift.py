"""Thrift compact-protocol encoding of the few structures a Parquet footer and page header need.

A struct is a list of ``(field id, type, value)``; fields whose value is None are left out. A
nested struct's value is its own field list, a list's value is ``(element type, items)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# compact-protocol type codes
BOOL = 1  # in a field header: 1 = true, 2 = false
I8 = 3
I16 = 4
I32 = 5
I64 = 6
DOUBLE = 7
BINARY = 8
LIST = 9
STRUCT = 12

Fields = Sequence[tuple[int, int, Any]]


def varint(value: int, out: bytearray) -> None:
    """An unsigned LEB128 varint."""
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def zigzag(value: int) -> int:
    """A signed integer as the unsigned zigzag form (64-bit range)."""
    return (value << 1) ^ (value >> 63)


def _value(kind: int, value: Any, out: bytearray) -> None:
    if kind in (I16, I32, I64):
        varint(zigzag(int(value)), out)
    elif kind == I8:
        out.append(int(value) & 0xFF)
    elif kind == BINARY:
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        varint(len(data), out)
        out += data
    elif kind == STRUCT:
        write_struct(value, out)
    elif kind == LIST:
        element, items = value
        if len(items) < 15:
            out.append(len(items) << 4 | element)
        else:
            out.append(0xF0 | element)
            varint(len(items), out)
        for item in items:
            if element == BOOL:
                out.append(1 if item else 2)
            else:
                _value(element, item, out)
    else:
        raise ValueError(f"thrift type {kind} is not supported here")


def write_struct(fields: Fields, out: bytearray) -> None:
    """Append one struct (fields in increasing id order) and its stop byte."""
    last = 0
    for field_id, kind, value in fields:
        if value is None:
            continue
        if field_id <= last:
            raise ValueError(f"thrift field ids must increase: {field_id} after {last}")
        code = (1 if value else 2) if kind == BOOL else kind
        delta = field_id - last
        if delta <= 15:
            out.append(delta << 4 | code)
        else:
            out.append(code)
            varint(zigzag(field_id), out)
        if kind != BOOL:
            _value(kind, value, out)
        last = field_id
    out.append(0)


def encode_struct(fields: Fields) -> bytes:
    out = bytearray()
    write_struct(fields, out)
    return bytes(out)
