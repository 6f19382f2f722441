"""Serialized ``KeyValue`` messages → keys and value texts, in bulk with numpy.

The canonical encodings that OTLP senders produce are parsed without creating a message per
attribute: ``0x0A len key`` then optionally ``0x12 len AnyValue``, where the AnyValue is empty
or holds one string (``0x0A``), bool (``0x10``), int (``0x18``) or double (``0x21``). Anything
else (arrays, kvlists, bytes, keys or strings of 16 KiB and more, non-canonical encodings) is
parsed by upb, once per distinct attribute. The bytes come from upb-parsed messages, so strings
are valid UTF-8 already.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otlp2parquet.mapping.otlp_values import anyvalue_text, js_number
from otlp2parquet.mapping.wire.scan import binary_ranges


@functools.cache
def _key_value_type() -> Any:
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    return KeyValue


def parse_kv(raw: bytes) -> tuple[str, str]:
    """One serialized KeyValue → (key, value text), with upb."""
    kv = _key_value_type().FromString(raw)
    return kv.key, anyvalue_text(kv.value)


def _varint(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Varints of one or two bytes at ``pos``: value, size, and whether it fit."""
    b0 = buf[pos].astype(np.int64)
    b1 = buf[pos + 1].astype(np.int64)
    one = b0 < 0x80
    fits = one | (b1 < 0x80)
    return np.where(one, b0, (b0 & 0x7F) | (b1 << 7)), np.where(one, 1, 2), fits


def _long_varint(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varints of up to ten bytes at ``pos`` as int64 (two's complement): value, size."""
    value = np.zeros(len(pos), np.uint64)
    size = np.zeros(len(pos), np.int64)
    done = np.zeros(len(pos), bool)
    for k in range(10):
        byte = buf[pos + k].astype(np.uint64)
        value |= np.where(done, np.uint64(0), (byte & np.uint64(0x7F)) << np.uint64(7 * k))
        size = np.where(done, size, k + 1)
        done |= byte < 0x80
    return value.view(np.int64), np.where(done, size, 0)


def _gather(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """The byte ranges ``[start, start + length)`` of ``buf`` as one string array."""
    return binary_ranges(buf, starts, lengths).view(pa.string())


def parse_key_values(flat: list[bytes] | pa.Array) -> tuple[pa.Array, pa.Array]:
    """Keys and value texts of serialized KeyValues (bytes, or a binary array)."""
    binary = flat if isinstance(flat, pa.Array) else pa.array(flat, pa.binary())
    count = len(binary)
    bounds = np.frombuffer(binary.buffers()[1], np.int32, count + 1, binary.offset * 4)
    bounds = bounds.astype(np.int64)
    size = int(bounds[-1] - bounds[0])
    buf = np.zeros(size + 16, np.uint8)
    if size:
        buf[:size] = np.frombuffer(binary.buffers()[2], np.uint8, size, int(bounds[0]))
    bounds -= bounds[0]
    last = size + 4
    start, end = bounds[:-1], bounds[1:]

    def at(pos: np.ndarray) -> np.ndarray:
        return np.minimum(pos, last)

    key_len, width, fits = _varint(buf, at(start + 1))
    key_start = start + 1 + width
    tag = key_start + key_len
    ok = (buf[at(start)] == 0x0A) & fits & (tag <= end)
    absent = tag == end
    value_len, width, fits = _varint(buf, at(tag + 1))
    value = tag + 1 + width  # where the AnyValue starts
    ok &= absent | ((buf[at(tag)] == 0x12) & fits & (value + value_len == end))
    empty = ok & (absent | (value_len == 0))
    kind = np.where(ok & ~empty, buf[at(value)], 0)
    text_len, width, fits = _varint(buf, at(value + 1))
    string = (kind == 0x0A) & fits & (value + 1 + width + text_len == end)
    text_start = value + 1 + width
    boolean = (kind == 0x10) & (value_len == 2) & (buf[at(value + 1)] < 2)
    double = (kind == 0x21) & (value_len == 9)
    integer = np.flatnonzero(kind == 0x18)
    number = np.zeros(0, np.int64)
    if len(integer):
        number, width = _long_varint(buf, at(value[integer] + 1))
        good = (width > 0) & (1 + width == value_len[integer])
        integer, number = integer[good], number[good]

    keys = _gather(buf, np.where(ok, key_start, 0), np.where(ok, key_len, 0))
    texts = _gather(buf, np.where(string, text_start, 0), np.where(string, text_len, 0))
    done = empty | string
    done[integer] = True
    done |= boolean | double
    slow = np.flatnonzero(~done)
    parts: list[tuple[np.ndarray, pa.Array]] = [
        (integer, pc.cast(pa.array(number), pa.string())),
        (
            np.flatnonzero(boolean),
            pa.array(np.where(buf[value[boolean] + 1] == 1, "true", "false")),
        ),
    ]
    if double.any():
        where = np.flatnonzero(double)
        raw = buf[(value[where] + 1)[:, None] + np.arange(8)].copy().view("<f8").ravel()
        distinct, inverse = np.unique(raw, return_inverse=True)
        formatted = pa.array([js_number(x) for x in distinct.tolist()], pa.string())
        parts.append((where, formatted.take(pa.array(inverse.ravel()))))
    if len(slow):
        cache: dict[bytes, tuple[str, str]] = {}
        items = [binary[i].as_py() for i in slow.tolist()]
        pairs = [cache.get(item) or cache.setdefault(item, parse_kv(item)) for item in items]
        keys = pc.replace_with_mask(
            keys, pa.array(~done), pa.array([k for k, _ in pairs], pa.string())
        )
        parts.append((slow, pa.array([v for _, v in pairs], pa.string())))
    positions = np.concatenate([p for p, _ in parts])
    if len(positions):
        replacements = pa.concat_arrays([a for _, a in parts]).take(np.argsort(positions))
        mask = np.zeros(count, bool)
        mask[positions] = True
        texts = pc.replace_with_mask(texts, pa.array(mask), replacements)
    return keys, texts
