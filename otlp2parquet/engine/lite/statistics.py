"""Parquet column chunk statistics in pure Python: the null count and min/max, PLAIN-encoded, in
the type-defined order the footer declares (``TYPE_ORDER``); written by the lite Parquet writer
for top-level columns whose values sort by their physical type."""

from __future__ import annotations

import math
import struct
from typing import Any

from otlp2parquet.engine.lite import thrift as t
from otlp2parquet.engine.lite.encoding import BOOLEAN, BYTE_ARRAY, DOUBLE, FIXED, FLOAT, Leaf

#: min/max values longer than this are left out (as pyarrow's default statistics size limit)
MAX_STATISTICS_SIZE = 4096


def statistics(physical: int, leaf: Leaf, values: list[Any]) -> list[Any]:
    """The Statistics of a top-level column chunk: null count, and min/max PLAIN-encoded in the
    type's order (strings: UTF-8 bytes, which Python's code point order matches)."""
    nulls = len(leaf.defs) - leaf.defs.count(leaf.max_def) if leaf.max_def else 0
    fields: list[Any] = [(3, t.I64, nulls)]
    if not values:
        return fields
    low, high = min(values), max(values)
    if physical in (FLOAT, DOUBLE):
        if any(map(math.isnan, values)):  # NaN: no order, no bounds
            return fields
        low = -0.0 if low == 0 else low  # the spec's rule for signed zeros
        high = 0.0 if high == 0 else high
    if physical == BYTE_ARRAY:
        encoded = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in (high, low)]
    elif physical == BOOLEAN:
        encoded = [bytes([int(high)]), bytes([int(low)])]
    else:
        encoded = [struct.pack("<" + FIXED[physical], v) for v in (high, low)]
    if max(len(e) for e in encoded) <= MAX_STATISTICS_SIZE:
        fields += [(5, t.BINARY, encoded[0]), (6, t.BINARY, encoded[1])]
    return fields
