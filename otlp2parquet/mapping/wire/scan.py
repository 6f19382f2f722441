"""The protobuf wire format of many messages at once, with numpy.

``scan`` walks N messages laid out in one buffer in rounds: round k decodes the k-th field of
every message still holding fields, so a request of a thousand records costs a dozen numpy
passes instead of a thousand Python objects. The result lists every field occurrence (message,
field number, wire type, value or payload range) in wire order, from which ``occurrences`` picks
a field's values with protobuf's rules: the last occurrence of a singular field wins, repeated
fields keep their order.

Only bytes upb has already parsed successfully are scanned (the decoder parsed the whole request
first), so malformed input is not diagnosed here; what the scanner does not handle (groups, a
message truncated inside a field) raises ``Unsupported`` and the caller falls back to messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

#: Zero bytes after the data, so that reads just past a message's end stay in the buffer.
PAD = 16
#: Up to this many bytes in all, ``binary_ranges`` gathers with numpy (else Arrow copies).
_GATHER_BYTES = 1 << 14
#: A round costs a few numpy calls whatever its size, so rounds must be shared by many
#: messages: past ``_FREE_ROUNDS`` rounds, a scan averaging fewer than ``_MIN_PER_ROUND``
#: occurrences per round (a few messages with very many fields) is declined, and the caller
#: reads those messages with upb, which skips unknown fields at C speed.
_FREE_ROUNDS = 128
_MIN_PER_ROUND = 32


class Unsupported(Exception):
    """The scanner declines these bytes; read them as messages instead."""


def padded(data: bytes) -> np.ndarray:
    """``data`` as a uint8 array with ``PAD`` zero bytes after it."""
    buf = np.zeros(len(data) + PAD, np.uint8)
    buf[: len(data)] = np.frombuffer(data, np.uint8)
    return buf


def varints(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray | int]:
    """The varints at ``pos``: values (uint64) and sizes in bytes (1 when all are one byte)."""
    byte = buf[pos]
    if not len(byte) or byte.max() < 0x80:
        return byte.astype(np.uint64), 1
    value = (byte & 0x7F).astype(np.uint64)
    size = np.ones(len(pos), np.int64)
    more = np.flatnonzero(byte >= 0x80)
    shift = 7
    while len(more):
        if shift > 63:
            raise Unsupported("varint longer than ten bytes")
        byte = buf[pos[more] + size[more]]
        value[more] |= (byte & 0x7F).astype(np.uint64) << np.uint64(shift)
        size[more] += 1
        more = more[byte >= 0x80]
        shift += 7
    return value, size


def fixed(buf: np.ndarray, pos: np.ndarray, width: int, dtype: str) -> np.ndarray:
    """Little-endian fixed-width values (``<u8``, ``<f8``, ``<u4`` ...) at ``pos``."""
    if not len(pos):
        return np.zeros(0, dtype)
    return buf[pos[:, None] + np.arange(width)].view(dtype).ravel()


@dataclass
class Scan:
    """Every field occurrence of ``count`` messages, round by round (so, per message, in wire
    order). ``value`` is the varint for wire type 0, else where the payload starts."""

    buf: np.ndarray
    count: int
    message: np.ndarray  # int32: which message
    number: np.ndarray  # int32: field number
    wire: np.ndarray  # int8: wire type
    value: np.ndarray  # uint64
    length: np.ndarray  # int32: payload size (0 for varints)
    fields: dict[int, list[np.ndarray]] = field(default_factory=dict)  # number → occurrences

    def occurrences(self, number: int, wires: tuple[int, ...], repeated: bool) -> np.ndarray:
        """Indices of field ``number``'s occurrences with one of ``wires``, ordered by message:
        for a singular field the last one of each message, for a repeated one all."""
        parts = self.fields.get(number)
        if not parts:
            return np.zeros(0, np.int64)
        found = parts[0] if len(parts) == 1 else np.concatenate(parts)
        kinds = self.wire[found]
        if len(wires) == 1:
            if not (kinds == wires[0]).all():
                found = found[kinds == wires[0]]
        elif not np.isin(kinds, wires).all():
            found = found[np.isin(kinds, wires)]
        owners = self.message[found]
        if len(owners) < 2 or (owners[1:] > owners[:-1]).all():
            return found  # at most one per message, in message order: the usual case
        if repeated:
            return found[np.argsort(owners, kind="stable")]
        reverse = owners[::-1]  # the last one wins
        _, first = np.unique(reverse, return_index=True)
        return found[len(found) - 1 - first]


def scan(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Scan:
    """Scan the messages ``buf[starts[i]:ends[i]]``."""
    count = len(starts)
    pos = starts.astype(np.int64)
    active = np.flatnonzero(pos < ends)
    everyone = len(active) == count  # no gathers while every message takes part
    parts: list[tuple[Any, ...]] = []
    fields: dict[int, list[np.ndarray]] = {}
    done = 0  # occurrences so far
    while len(active):
        here = pos if everyone else pos[active]
        end = ends if everyone else ends[active]
        tag, size = varints(buf, here)
        tag = tag.astype(np.int64)
        size_of_round = len(tag)
        first = int(tag[0])
        if (tag == first).all():  # one field in this round, as in uniform records
            tags: Any = first
            value, length, here = _one_kind(buf, here + size, first & 7)
            occurrences = np.arange(done, done + size_of_round, dtype=np.int32)
            fields.setdefault(first >> 3, []).append(occurrences)
        else:
            tags = tag
            value, length, here = _mixed(buf, here + size, tag & 7)
            numbers = tag >> 3
            for number in np.unique(numbers).tolist():
                at = np.flatnonzero(numbers == number)
                fields.setdefault(number, []).append((at + done).astype(np.int32))
        parts.append((active, tags, value, length, size_of_round))
        done += size_of_round
        if len(parts) > _FREE_ROUNDS and done < len(parts) * _MIN_PER_ROUND:
            raise Unsupported(f"{len(parts)} rounds for {done} fields: too few messages per round")
        if everyone:
            pos = here
        else:
            pos[active] = here
        going = here < end
        if not going.all():
            if everyone:
                pos = pos.copy()
                everyone = False
            active = active[going]
    if np.any(pos != ends):
        raise Unsupported("a field runs past the end of its message")
    if not parts:
        empty = np.zeros(0, np.int64)
        return Scan(buf, count, empty, empty, empty, empty.astype(np.uint64), empty)
    # compact types: a 64 MiB request has millions of occurrences
    message = np.concatenate([part[0] for part in parts]).astype(np.int32)
    tags = [np.full(n, t, np.int32) if isinstance(t, int) else t for _, t, _, _, n in parts]
    tag = np.concatenate(tags).astype(np.int32)
    value = np.concatenate([part[2] for part in parts])
    length = np.concatenate([part[3] for part in parts]).astype(np.int32)
    return Scan(buf, count, message, tag >> 3, (tag & 7).astype(np.int8), value, length, fields)


def _one_kind(buf: np.ndarray, here: np.ndarray, kind: int) -> tuple[np.ndarray, ...]:
    """(value, length, next position) of fields of one wire type starting at ``here``."""
    if kind == 0:
        value, size = varints(buf, here)
        return value, np.zeros(len(here), np.int64), here + size
    if kind == 2:
        payload, size = varints(buf, here)
        start = here + size
        length = payload.astype(np.int64)
        return start.view(np.uint64), length, start + length
    if kind in (1, 5):
        width = 8 if kind == 1 else 4
        return here.view(np.uint64), np.full(len(here), width), here + width
    raise Unsupported(f"wire type {kind}")


def _mixed(buf: np.ndarray, here: np.ndarray, kinds: np.ndarray) -> tuple[np.ndarray, ...]:
    value = here.astype(np.uint64)
    length = np.zeros(len(here), np.int64)
    after = here.copy()
    for kind in np.unique(kinds).tolist():
        at = np.flatnonzero(kinds == kind)
        value[at], length[at], after[at] = _one_kind(buf, here[at], kind)
    return value, length, after


def binary_ranges(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """The byte ranges ``[start, start + length)`` of ``buf`` (in increasing, non-overlapping
    order) as one binary array, copied by Arrow: ranges and the gaps between them are the
    elements of one array over the whole buffer, and ``take`` keeps the ranges."""
    count = len(starts)
    if not count:
        return pa.array([], pa.binary())
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total <= _GATHER_BYTES:  # a few bytes: gathered by numpy
        data = buf[np.repeat(starts - offsets[:-1], lengths) + np.arange(total)]
        buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
        return pa.Array.from_buffers(pa.binary(), count, buffers)
    ends = starts + lengths
    if not lengths.all():  # empty ranges go where the ranges before them end
        before = np.zeros(count, np.int64)
        np.maximum.accumulate(np.where(lengths > 0, ends, 0)[:-1], out=before[1:])
        starts = np.where(lengths > 0, starts, before)
        ends = np.where(lengths > 0, ends, before)
    bounds = np.empty(2 * count, np.int64)
    bounds[0::2] = starts
    bounds[1::2] = ends
    if bounds[-1] >= 2**31 or np.any(bounds[1:] < bounds[:-1]):
        pieces = zip(starts.tolist(), ends.tolist(), strict=True)
        return pa.array([buf[s:e].tobytes() for s, e in pieces], pa.binary())
    spans = pa.BinaryArray.from_buffers(
        pa.binary(), 2 * count - 1, [None, pa.py_buffer(bounds.astype(np.int32)), pa.py_buffer(buf)]
    )
    return spans.take(pa.array(np.arange(0, 2 * count, 2)))
