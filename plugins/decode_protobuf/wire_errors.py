"""Locate what makes a protobuf body undecodable.

The fast parser (upb) only says that parsing failed. When it does, this walks the wire format
against the message descriptor and reports the field path and byte offset of the first problem.
It is only run on failure, so it favours clarity over speed.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor

MAX_DEPTH = 100
_FIXED = {1: 8, 5: 4}
_PACKABLE_FIXED = {
    FieldDescriptor.TYPE_DOUBLE: 8,
    FieldDescriptor.TYPE_FIXED64: 8,
    FieldDescriptor.TYPE_SFIXED64: 8,
    FieldDescriptor.TYPE_FLOAT: 4,
    FieldDescriptor.TYPE_FIXED32: 4,
    FieldDescriptor.TYPE_SFIXED32: 4,
}


class WireError(Exception):
    def __init__(self, path: str, offset: int, problem: str) -> None:
        if len(path) > 240:
            path = path[:100] + " ... " + path[-100:]
        super().__init__(f"{problem} at byte {offset}" + (f", in field {path}" if path else ""))


def _varint(data: bytes, pos: int, end: int, path: str) -> tuple[int, int]:
    result = shift = 0
    start = pos
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError(path, start, "malformed varint")
    raise WireError(path, start, "truncated varint")


def _walk(data: bytes, pos: int, end: int, descriptor: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise WireError(path, pos, f"messages nested deeper than {MAX_DEPTH} levels")
    seen: dict[int, int] = {}
    while pos < end:
        key, pos = _varint(data, pos, end, path)
        number, wire_type = key >> 3, key & 7
        field = descriptor.fields_by_number.get(number)
        name = field.name if field is not None else f"#{number}"
        if field is not None and field.is_repeated:
            index = seen.get(number, 0)
            seen[number] = index + 1
            name = f"{name}[{index}]"
        here = f"{path}.{name}" if path else name
        if number == 0:
            raise WireError(path, pos, "field number 0")
        if wire_type == 0:
            _, pos = _varint(data, pos, end, here)
        elif wire_type in _FIXED:
            if pos + _FIXED[wire_type] > end:
                raise WireError(here, pos, "truncated fixed-width value")
            pos += _FIXED[wire_type]
        elif wire_type == 2:
            length, pos = _varint(data, pos, end, here)
            if pos + length > end:
                raise WireError(here, pos, f"length {length} runs past the end ({end - pos} left)")
            _check_bytes(data, pos, pos + length, field, here, depth)
            pos += length
        else:
            raise WireError(here, pos, f"unsupported wire type {wire_type}")
    if pos != end:
        raise WireError(path, end, "truncated message")


def _check_bytes(data: bytes, pos: int, end: int, field: Any, path: str, depth: int) -> None:
    if field is None:
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        _walk(data, pos, end, field.message_type, path, depth + 1)
    elif field.type == FieldDescriptor.TYPE_STRING:
        try:
            data[pos:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError(path, pos + exc.start, "invalid UTF-8 in a string") from None
    elif field.type in _PACKABLE_FIXED and (end - pos) % _PACKABLE_FIXED[field.type]:
        raise WireError(path, pos, "packed values of a wrong total length")
    elif field.type not in (FieldDescriptor.TYPE_BYTES, *_PACKABLE_FIXED):
        while pos < end:  # packed varints
            _, pos = _varint(data, pos, end, path)


def diagnose(data: bytes, descriptor: Any) -> str | None:
    """What is wrong with ``data`` as a ``descriptor`` message, and where; None if nothing is
    found."""
    try:
        _walk(data, 0, len(data), descriptor, "", 0)
    except WireError as exc:
        return str(exc)
    return None
