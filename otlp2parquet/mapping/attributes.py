"""Attribute lists → ``map<string, string>`` columns: keys sorted, the last of equal keys wins,
values as text (``otlp_values.anyvalue_text``).

Two inputs: ``KeyValue`` objects (JSON structs, protobuf messages) and serialized KeyValues
(protobuf views, see ``protoview.py``). Attributes repeat a lot (a handful of methods, routes,
status codes, one resource's attributes on every record), so each distinct attribute of a call is
converted once: raw KeyValues are deduplicated in bulk by Arrow, objects with a dict. The text of
a raw KeyValue that repeats is kept in a process-wide cache (``KV_CACHE_SIZE`` entries, then
started afresh); the rest are parsed in bulk by ``kvwire``. The maps of a few lists (resources,
scopes) are cached whole. Within each row, sorting is one stable argsort over (row, key rank),
skipped when the attributes came sorted and unique already.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otlp2parquet.mapping.otlp_values import anyvalue_text
from otlp2parquet.mapping.wire.kv import parse_key_values, parse_kv

#: Distinct serialized KeyValues whose (key, text) are kept between calls.
KV_CACHE_SIZE = 1 << 16
#: Map columns of a few attribute lists (``_GROUPS_CACHED`` at most) kept between calls.
GROUPS_CACHE_SIZE = 1024
_GROUPS_CACHED = 16
#: ... holding this many attributes at most, so that the cache never keeps a huge list alive.
_GROUP_ITEMS_CACHED = 1024
#: Up to this many distinct KeyValues in a call are all cached, misses parsed one by one with
#: upb; beyond, those seen once are parsed in bulk and not cached.
_FEW = 64
_kv_cache: dict[bytes, tuple[str, str]] = {}
_groups_cache: dict[tuple[Any, ...], pa.Array] = {}


def attribute_maps(groups: Sequence[Sequence[Any]], map_type: pa.DataType) -> pa.Array:
    """One map per list of attributes. A few lists (resources, scopes) are looked up whole
    first: the same resources come back request after request."""
    if len(groups) > _GROUPS_CACHED or sum(map(len, groups)) > _GROUP_ITEMS_CACHED:
        return _attribute_maps(groups, map_type)
    key = (map_type, *map(tuple, groups))
    try:
        cached = _groups_cache.get(key)
    except TypeError:  # unhashable (protobuf messages)
        return _attribute_maps(groups, map_type)
    if cached is None:
        cached = _attribute_maps(groups, map_type)
        if len(_groups_cache) >= GROUPS_CACHE_SIZE:
            _groups_cache.clear()
        _groups_cache[key] = cached
    return cached


def _attribute_maps(groups: Sequence[Sequence[Any]], map_type: pa.DataType) -> pa.Array:
    lengths = np.fromiter(map(len, groups), np.int64, len(groups))
    flat = list(chain.from_iterable(groups))
    if not flat:
        empty = pa.array([], pa.string())
        return _assemble(empty, empty, np.zeros(0, np.int64), lengths, map_type)
    if isinstance(flat[0], bytes):
        return raw_attribute_maps(pa.array(flat, pa.binary()), lengths, map_type)
    else:
        objects, codes = _distinct(flat)
        text = anyvalue_text
        keys = pa.array([kv.key for kv in objects], pa.string())
        texts = pa.array([(v := kv.value).string_value or text(v) for kv in objects], pa.string())
    return _assemble(keys, texts, codes, lengths, map_type)


def raw_attribute_maps(raw: pa.Array, lengths: np.ndarray, map_type: pa.DataType) -> pa.Array:
    """Maps from serialized KeyValues (a binary array), ``lengths[i]`` of them for row i."""
    if not len(raw):
        empty = pa.array([], pa.string())
        return _assemble(empty, empty, np.zeros(0, np.int64), lengths, map_type)
    encoded = pc.dictionary_encode(raw)
    codes = encoded.indices.to_numpy()
    seen = np.bincount(codes, minlength=len(encoded.dictionary))
    keys, texts = _raw_entries(encoded.dictionary, seen)
    return _assemble(keys, texts, codes, lengths, map_type)


def _distinct(flat: list[Any]) -> tuple[list[Any], np.ndarray]:
    """Distinct KeyValue objects and each attribute's index among them."""
    distinct: dict[Any, int] = {}
    try:
        codes = [distinct.setdefault(kv, len(distinct)) for kv in flat]
    except TypeError:  # unhashable (protobuf messages): every attribute is its own entry
        return flat, np.arange(len(flat), dtype=np.int64)
    return list(distinct), np.array(codes, np.int64)


def _raw_entries(distinct: pa.Array, seen: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Keys and texts of distinct serialized KeyValues (``seen[i]`` times each in the call).
    Among many, those seen once (IDs, messages) are parsed in bulk, uncached; the rest go
    through the cache."""
    if len(distinct) <= _FEW:
        pairs = _raw_pairs(distinct.to_pylist())
        return pa.array([k for k, _ in pairs], pa.string()), pa.array([t for _, t in pairs])
    repeated = np.flatnonzero(seen > 1)
    if not len(repeated):
        return parse_key_values(distinct)
    singles = np.flatnonzero(seen == 1)
    items = distinct.take(pa.array(repeated)).to_pylist()
    found = [_kv_cache.get(item) for item in items]
    missing = [item for item, pair in zip(items, found, strict=True) if pair is None]
    if len(missing) >= _FEW:  # many new ones: parsed in bulk
        new_keys, new_texts = parse_key_values(missing)
        parsed = list(zip(new_keys.to_pylist(), new_texts.to_pylist(), strict=True))
        _remember(missing, parsed)
        fresh = iter(parsed)
        found = [pair if pair is not None else next(fresh) for pair in found]
    pairs = _raw_pairs(items, found)
    keys = pa.array([k for k, _ in pairs], pa.string())
    texts = pa.array([t for _, t in pairs], pa.string())
    if not len(singles):
        return keys, texts
    single_keys, single_texts = parse_key_values(distinct.take(pa.array(singles)))
    order = pa.array(np.argsort(np.concatenate([repeated, singles])))
    return (
        pa.concat_arrays([keys, single_keys]).take(order),
        pa.concat_arrays([texts, single_texts]).take(order),
    )


def _raw_pairs(
    raw: Sequence[bytes], found: list[tuple[str, str] | None] | None = None
) -> list[tuple[str, str]]:
    """(key, text) of serialized KeyValues, through the cache; misses are parsed with upb."""
    if found is None:
        found = [_kv_cache.get(item) for item in raw]
    missing = [item for item, pair in zip(raw, found, strict=True) if pair is None]
    if not missing:
        return found  # type: ignore[return-value]
    parsed = [parse_kv(item) for item in missing]
    _remember(missing, parsed)
    filled = iter(parsed)
    return [pair if pair is not None else next(filled) for pair in found]


def _remember(raw: list[bytes], pairs: list[tuple[str, str]]) -> None:
    if len(_kv_cache) + len(raw) > KV_CACHE_SIZE:
        _kv_cache.clear()
    _kv_cache.update(zip(raw, pairs, strict=True))


def attribute_pairs(attributes: Sequence[Any]) -> list[tuple[str, str]]:
    """(key, text) of each attribute, in order."""
    if attributes and isinstance(attributes[0], bytes):
        return _raw_pairs(list(attributes))
    return [(kv.key, anyvalue_text(kv.value)) for kv in attributes]


def attribute_text(attributes: Sequence[Any], key: str) -> str:
    """The text of one attribute (the last one when repeated), '' when absent."""
    found = ""
    for name, text in attribute_pairs(attributes):
        if name == key:
            found = text
    return found


def _key_ranks(keys: pa.Array) -> tuple[np.ndarray, int, bool]:
    """Each entry's key rank among the distinct keys (sorted by code point, as UTF-8 bytes
    sort), how many distinct keys there are, and whether the entries are sorted and unique."""
    encoded = pc.dictionary_encode(keys)
    dictionary = encoded.dictionary
    rank = np.empty(len(dictionary), np.int64)
    rank[pc.sort_indices(dictionary).to_numpy()] = np.arange(len(dictionary))
    ranks = rank[encoded.indices.to_numpy()]
    return ranks, len(dictionary), bool(np.all(ranks[1:] > ranks[:-1]))


def _assemble(
    keys: pa.Array, texts: pa.Array, codes: np.ndarray, lengths: np.ndarray, map_type: pa.DataType
) -> pa.Array:
    """The map column from distinct (key, text) entries and each attribute's entry code."""
    rows = len(lengths)
    if len(codes) and lengths.max() > 1:
        rank, count, _ = _key_ranks(keys)
        row = np.repeat(np.arange(rows, dtype=np.int64), lengths)
        order_key = row * count + rank[codes]
        if not np.all(order_key[1:] > order_key[:-1]):
            index = np.argsort(order_key, kind="stable")
            ordered = order_key[index]
            keep = np.ones(len(index), bool)
            keep[:-1] = ordered[:-1] != ordered[1:]  # equal keys: the last one sent wins
            index = index[keep]
            codes = codes[index]
            lengths = np.bincount(row[index], minlength=rows)
    offsets = np.zeros(rows + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    indices = pa.array(codes, pa.int32())
    return pa.MapArray.from_arrays(
        pa.array(offsets), keys.take(indices), texts.take(indices), type=map_type
    )
