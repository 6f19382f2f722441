"""Attribute lists → ``map<string, string>`` columns: keys sorted, the last of equal keys wins,
values as text (``otlp_values.anyvalue_text``).

Two inputs: ``KeyValue`` objects (JSON structs, protobuf messages) and serialized KeyValues
(protobuf views, see ``protoview.py``), which ``kvwire.py`` parses in bulk. Sorting within each
row is one stable argsort over (row, key rank).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otlp2parquet.kvwire import parse_key_values, parse_kv
from otlp2parquet.otlp_values import anyvalue_text

_key = attrgetter("key")


def attribute_maps(groups: Sequence[Sequence[Any]], map_type: pa.DataType) -> pa.Array:
    """One map per list of attributes."""
    lengths = np.fromiter(map(len, groups), np.int64, len(groups))
    flat = list(chain.from_iterable(groups))
    if flat and isinstance(flat[0], bytes):
        keys, values = parse_key_values(flat)
    else:
        text = anyvalue_text
        keys = pa.array(list(map(_key, flat)), pa.string())
        values = pa.array([(v := kv.value).string_value or text(v) for kv in flat], pa.string())
    return _assemble(keys, values, lengths, map_type)


def attribute_pairs(attributes: Sequence[Any]) -> list[tuple[str, str]]:
    """(key, text) of each attribute, in order."""
    if attributes and isinstance(attributes[0], bytes):
        return [parse_kv(raw) for raw in attributes]
    return [(kv.key, anyvalue_text(kv.value)) for kv in attributes]


def attribute_text(attributes: Sequence[Any], key: str) -> str:
    """The text of one attribute (the last one when repeated), '' when absent."""
    found = ""
    for name, text in attribute_pairs(attributes):
        if name == key:
            found = text
    return found


def _assemble(
    keys: pa.Array, values: pa.Array, lengths: np.ndarray, map_type: pa.DataType
) -> pa.Array:
    rows = len(lengths)
    if len(keys) and lengths.max() > 1:
        encoded = pc.dictionary_encode(keys)
        dictionary = encoded.dictionary
        rank = np.empty(len(dictionary), np.int64)
        rank[pc.sort_indices(dictionary).to_numpy()] = np.arange(len(dictionary))
        row = np.repeat(np.arange(rows, dtype=np.int64), lengths)
        order_key = row * len(dictionary) + rank[encoded.indices.to_numpy()]
        if not np.all(order_key[1:] > order_key[:-1]):
            order = np.argsort(order_key, kind="stable")
            ordered = order_key[order]
            keep = np.ones(len(order), bool)
            keep[:-1] = ordered[:-1] != ordered[1:]  # equal keys: the last one sent wins
            order = order[keep]
            keys, values = keys.take(order), values.take(order)
            lengths = np.bincount(row[order], minlength=rows)
    offsets = np.zeros(rows + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.MapArray.from_arrays(pa.array(offsets), keys, values, type=map_type)
