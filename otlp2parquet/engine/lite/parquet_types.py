"""How the lite Parquet writer stores each scalar type of the schema files: physical type,
converted type and logical type, as pyarrow writes them, so readers see the same types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otlp2parquet.engine.lite import thrift as t
from otlp2parquet.engine.lite.encoding import BOOLEAN, BYTE_ARRAY, DOUBLE, FLOAT, INT32, INT64

_UTF8 = 0  # converted type
#: integers with a logical type: (bit width, signed, converted type INT_8 ... UINT_64)
INTEGERS = {
    "int8": (8, True, 15),
    "int16": (16, True, 16),
    "uint8": (8, False, 11),
    "uint16": (16, False, 12),
    "uint32": (32, False, 13),
    "uint64": (64, False, 14),
}
#: timestamp unit → (TimeUnit union field, converted type TIMESTAMP_MILLIS/MICROS or None)
_TS_UNITS: dict[str, tuple[int, int | None]] = {"ms": (1, 9), "us": (2, 10), "ns": (3, None)}
WRITER_SCALARS = frozenset(
    {"string", "bool", "float32", "float64", "int32", "int64", *INTEGERS}
    | {f"timestamp[{unit}{tz}]" for unit in _TS_UNITS for tz in ("", ",tz=UTC")}
)


def scalar_type(name: str) -> tuple[int, int | None, Any, Callable[[Any], Any] | None]:
    """(physical type, converted type, logical type fields, value converter)."""
    if name == "string":
        return BYTE_ARRAY, _UTF8, [(1, t.STRUCT, [])], None  # logical STRING
    if name == "bool":
        return BOOLEAN, None, None, None
    if name in ("float32", "float64"):
        return (FLOAT if name == "float32" else DOUBLE), None, None, float
    if name in ("int32", "int64"):  # plain INT32 / INT64, as pyarrow writes them
        return (INT32 if name == "int32" else INT64), None, None, int
    if name in INTEGERS:
        bits, signed, converted = INTEGERS[name]
        logical = [(10, t.STRUCT, [(1, t.I8, bits), (2, t.BOOL, signed)])]  # logical INTEGER
        if signed:
            return INT32, converted, logical, int
        wrap = 1 << (64 if bits == 64 else 32)  # unsigned values stored as two's complement

        def unsigned(value: Any) -> int:
            number = int(value)
            return number - wrap if number >= wrap >> 1 else number

        return (INT64 if bits == 64 else INT32), converted, logical, unsigned
    unit, utc = name[10:12], name.endswith(",tz=UTC]")
    unit_field, ts_converted = _TS_UNITS[unit]
    timestamp = [(1, t.BOOL, utc), (2, t.STRUCT, [(unit_field, t.STRUCT, [])])]
    return INT64, ts_converted if utc else None, [(8, t.STRUCT, timestamp)], int
