"""Parquet value and level encodings in pure Python: PLAIN values and the RLE/bit-packed hybrid
of definition and repetition levels; and record shredding (nested values → levels)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from otlp2parquet.engine.lite.thrift import varint

#: Parquet physical types (``parquet.thrift`` Type) written here.
BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY = 0, 1, 2, 4, 5, 6
#: struct format of the fixed-width physical types
FIXED = {INT32: "i", INT64: "q", FLOAT: "f", DOUBLE: "d"}
_LENGTH = struct.Struct("<I")
_SLICE = 4096  # byte-array values encoded at a time
_DIGITS: dict[int, list[str]] = {}  # bit width → each level's binary digits


def plain(physical: int, values: Sequence[Any], out: bytearray | None = None) -> bytearray:
    """PLAIN-encoded non-null values of one physical type, appended to ``out``."""
    out = bytearray() if out is None else out
    if physical in FIXED:
        out += struct.pack(f"<{len(values)}{FIXED[physical]}", *values)
    elif physical == BOOLEAN:
        out += _bitpack([1 if v else 0 for v in values], 1)
    elif physical == BYTE_ARRAY:
        pack = _LENGTH.pack
        for start in range(0, len(values), _SLICE):  # bounded temporaries
            chunk = values[start : start + _SLICE]
            try:  # all str, the usual case: iterated in C, not per value in Python
                data = list(map(str.encode, chunk))
            except TypeError:
                data = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in chunk]
            prefixed = zip(map(pack, map(len, data)), data, strict=True)
            out += b"".join(chain.from_iterable(prefixed))
    else:
        raise ValueError(f"physical type {physical} is not supported")
    return out


def _bitpack(values: Sequence[int], width: int) -> bytes:
    """``values`` packed LSB first, ``width`` bits each, padded with zeros to whole groups of 8
    values (one big integer built from binary digits: no Python loop per value)."""
    count = len(values) + (-len(values) % 8)
    digits = _DIGITS.get(width) or [format(v, f"0{width}b") for v in range(1 << width)]
    _DIGITS[width] = digits
    text = "".join(map(digits.__getitem__, reversed(values)))
    return (int(text, 2) if text else 0).to_bytes(count * width // 8, "little")


def hybrid(levels: Sequence[int], width: int) -> bytes:
    """The RLE/bit-packed hybrid encoding of ``levels`` (without the length prefix): one RLE run
    when all levels are equal, else one bit-packed run (gzip takes care of the repetition)."""
    out = bytearray()
    if not levels:
        return b""
    if levels.count(levels[0]) == len(levels):
        varint(len(levels) << 1, out)
        out += levels[0].to_bytes((width + 7) // 8, "little")
    else:
        varint((len(levels) + 7) // 8 << 1 | 1, out)
        out += _bitpack(levels, width)
    return bytes(out)


def levels_block(levels: Sequence[int], max_level: int) -> bytes:
    """Levels as stored in a v1 data page: a 4-byte length, then the hybrid encoding."""
    data = hybrid(levels, max_level.bit_length())
    return len(data).to_bytes(4, "little") + data


@dataclass
class Leaf:
    """One leaf column's shredded values: levels for every entry, values for non-null ones."""

    max_rep: int
    max_def: int
    reps: list[int] = field(default_factory=list)
    defs: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def clear(self) -> None:
        self.reps.clear()
        self.defs.clear()
        self.values.clear()
