"""OTLP value rules of the ClickHouse exporter: AnyValue as text, IDs as hex.

Everything here reads OTLP messages through the protobuf read API (``WhichOneof``, attribute
names in snake_case), which the JSON decoder's classes mirror, so one implementation serves both.
"""

from __future__ import annotations

import functools
import json
import math
from base64 import b64encode
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # imported where used: the pyarrow-free path (``lite``) needs the rest only
    import numpy as np
    import pyarrow as pa

MAX_DEPTH = 100
_ZERO_IDS = frozenset({b"", bytes(8), bytes(16)})
_ZERO_HEX = frozenset({"", "0" * 16, "0" * 32})
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def js_number(value: float) -> str:
    """A double the way JavaScript (and the exporter) prints it: shortest round-trip digits,
    exponent form only below 1e-6 or from 1e21 on (``5.0`` → ``5``, ``1e21`` → ``1e+21``)."""
    text = repr(value)
    if text.endswith(".0"):
        return "0" if value == 0 else text[:-2]
    if "e" not in text:
        if "n" in text:  # inf, nan
            return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
        return text
    sign = "-" if text[0] == "-" else ""
    mantissa, _, exp_text = text.lstrip("-").partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).rstrip("0")
    point = len(whole) + int(exp_text)  # value = 0.<digits> * 10**point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    head = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{sign}{head}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def anyvalue_text(value: Any) -> str:
    """AnyValue as text: strings as is, bool true/false, int base 10, double per ``js_number``,
    bytes base64, array and kvlist compact JSON with sorted keys, empty ''."""
    text = value.string_value
    if text:
        return text
    kind = value.WhichOneof("value")
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return js_number(value.double_value)
    if kind == "bytes_value":
        return b64encode(value.bytes_value).decode("ascii")
    if kind == "array_value" or kind == "kvlist_value":
        return anyvalue_json(value)
    return ""


def anyvalue_json(value: Any, depth: int = 0) -> str:
    """AnyValue as compact JSON (nested values keep their JSON types; bytes as base64). Values
    nested deeper than ``MAX_DEPTH`` (which protobuf cannot even decode) become null."""
    kind = value.WhichOneof("value")
    if depth >= MAX_DEPTH:
        return "null"
    if kind == "string_value":
        return _dumps(value.string_value)
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        number = value.double_value
        return js_number(number) if math.isfinite(number) else "null"
    if kind == "bytes_value":
        return '"' + b64encode(value.bytes_value).decode("ascii") + '"'
    if kind == "array_value":
        items = value.array_value.values
        return "[" + ",".join([anyvalue_json(v, depth + 1) for v in items]) + "]"
    if kind == "kvlist_value":
        entries = {kv.key: anyvalue_json(kv.value, depth + 1) for kv in value.kvlist_value.values}
        return "{" + ",".join(_dumps(k) + ":" + entries[k] for k in sorted(entries)) + "}"
    return "null"


def _hex(i: bytes | str) -> str:
    return i if isinstance(i, str) else i.hex()


def hex_ids(ids: Sequence[bytes | str]) -> list[str]:
    """IDs (bytes, or the JSON decoder's lowercase hex) as lowercase hex; empty or all-zero
    IDs as ''."""
    kinds = set(map(type, ids))
    if kinds == {str}:
        zero_hex = _ZERO_HEX
        return ["" if i in zero_hex else i for i in cast("Sequence[str]", ids)]
    if kinds == {bytes}:
        zero = _ZERO_IDS
        return ["" if i in zero else i.hex() for i in cast("Sequence[bytes]", ids)]
    return ["" if h in _ZERO_HEX else h for h in map(_hex, ids)]  # a mix of both


@functools.cache
def _hex_pairs() -> np.ndarray:
    """Byte → its two hex digits, in memory order."""
    import numpy as np

    return np.array([ord(f"{b:02x}"[0]) | ord(f"{b:02x}"[1]) << 8 for b in range(256)], "<u2")


def hex_id_array(ids: Sequence[bytes | str]) -> pa.Array:
    """``hex_ids`` as a string array; bytes IDs are encoded in bulk with numpy."""
    import numpy as np
    import pyarrow as pa

    if not ids or not all(type(i) is bytes for i in ids):
        return pa.array(hex_ids(ids), pa.string())
    raw = cast("Sequence[bytes]", ids)
    lengths = np.fromiter(map(len, raw), np.int64, len(raw))
    return _hex_text(np.frombuffer(b"".join(raw), np.uint8), lengths)


def hex_binary(ids: pa.Array) -> pa.Array:
    """``hex_ids`` of the IDs in a binary array."""
    import numpy as np

    offsets = np.frombuffer(ids.buffers()[1], np.int32, len(ids) + 1, ids.offset * 4)
    first, last = int(offsets[0]), int(offsets[-1])
    data = ids.buffers()[2]
    raw = np.frombuffer(data, np.uint8)[first:last] if data is not None else np.zeros(0, np.uint8)
    return _hex_text(raw, np.diff(offsets).astype(np.int64))


def hex_rows(ids: np.ndarray) -> pa.Array:
    """``hex_ids`` of IDs of one width, the rows of a 2-D uint8 array."""
    import numpy as np
    import pyarrow as pa

    count, width = ids.shape
    zero = ~ids.any(axis=1) if width in (8, 16) else np.zeros(count, bool)
    if zero.any():
        ids = ids[~zero]
    offsets = np.zeros(count + 1, np.int32)
    np.cumsum(np.where(zero, 0, 2 * width), out=offsets[1:])
    text = _hex_pairs()[ids]
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(text))


def _hex_text(data: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Consecutive IDs of ``lengths`` bytes in ``data`` as hex; all-zero 8 and 16-byte IDs are
    absent: ''."""
    import numpy as np
    import pyarrow as pa

    ends = np.cumsum(lengths)
    nonzero = np.zeros(len(data) + 1, np.int64)
    np.cumsum(data != 0, out=nonzero[1:])
    zero = (nonzero[ends] == nonzero[ends - lengths]) & ((lengths == 8) | (lengths == 16))
    if zero.any():
        data = data[np.repeat(~zero, lengths)]
        lengths = np.where(zero, 0, lengths)
    offsets = np.zeros(len(lengths) + 1, np.int32)
    np.cumsum(lengths * 2, out=offsets[1:])
    text = _hex_pairs()[data]
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(text))


def padded_hex_ids(ids: Sequence[bytes | str], size: int) -> list[str]:
    """IDs as zero-filled lowercase hex of ``size`` bytes (exemplars keep zero IDs)."""
    width = 2 * size
    if set(map(type, ids)) == {bytes}:
        raw = cast("Sequence[bytes]", ids)
        return [i.hex() if len(i) == size else i[:size].ljust(size, b"\0").hex() for i in raw]
    return [h if len(h) == width else h[:width].ljust(width, "0") for h in map(_hex, ids)]
