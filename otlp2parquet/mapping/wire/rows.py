"""Records kept as serialized bytes and read by field path, column by column (``wirescan``).

``WireRows`` is what the mappers collect at the row level of a protobuf request: a sequence of
records that are only parsed into messages (attribute views, see ``protoview``) when something
iterates it, so a column without a wire reading still works, just slower. ``leaf(path)`` reads
one field path (``status.code``, ``body``, ``attributes``, ``bucket_counts``) for every row as
a ``Leaf``; ``children(name)`` the messages of a repeated field (``events``) as ``WireRows``
with each row's offsets. Anything unusual raises ``Unsupported``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pyarrow as pa
from google.protobuf.descriptor import FieldDescriptor as FD

from otlp2parquet.mapping.wire.protoview import view_class
from otlp2parquet.mapping.wire.scan import PAD, Scan, Unsupported, binary_ranges, fixed, scan

#: field type → (wire type unpacked, width when fixed-size, numpy dtype of values)
_NUMERIC = {
    FD.TYPE_INT64: (0, 0, "<i8"),
    FD.TYPE_UINT64: (0, 0, "<u8"),
    FD.TYPE_INT32: (0, 0, "<i4"),
    FD.TYPE_UINT32: (0, 0, "<u4"),
    FD.TYPE_ENUM: (0, 0, "<i4"),
    FD.TYPE_BOOL: (0, 0, "?"),
    FD.TYPE_FIXED64: (1, 8, "<u8"),
    FD.TYPE_SFIXED64: (1, 8, "<i8"),
    FD.TYPE_DOUBLE: (1, 8, "<f8"),
    FD.TYPE_FIXED32: (5, 4, "<u4"),
    FD.TYPE_SFIXED32: (5, 4, "<i4"),
    FD.TYPE_FLOAT: (5, 4, "<f4"),
}
_RANGES = (FD.TYPE_STRING, FD.TYPE_BYTES, FD.TYPE_MESSAGE)


@dataclass
class Leaf:
    """One field of every row: numbers (``values``) or byte ranges (``starts``/``lengths``);
    per row for a singular field (defaults where ``present`` is false), per element for a
    repeated one (row i owning ``offsets[i]:offsets[i + 1]``)."""

    field: Any
    buf: np.ndarray
    present: np.ndarray
    values: np.ndarray | None = None
    starts: np.ndarray | None = None
    lengths: np.ndarray | None = None
    offsets: np.ndarray | None = None

    def binary(self) -> pa.Array:
        assert self.starts is not None and self.lengths is not None
        return binary_ranges(self.buf, self.starts, self.lengths)

    def strings(self) -> pa.Array:
        """The ranges as strings; valid UTF-8 already: upb parsed the request first."""
        return self.binary().view(pa.string())

    def rows(self) -> WireRows:
        """The message of each row (or element) as rows of their own; absent ones are empty."""
        assert self.starts is not None and self.lengths is not None
        return WireRows(self.buf, self.starts, self.starts + self.lengths, self.field.message_type)


class WireRows(Sequence[Any]):
    """Messages of one type in one buffer (``buf[starts[i]:ends[i]]``)."""

    def __init__(self, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, descriptor: Any):
        self.buf, self.starts, self.ends, self.descriptor = buf, starts, ends, descriptor
        self._scan: Scan | None = None
        self._declined: str | None = None
        self._messages: list[Any] | None = None
        self._items: list[bytes] | None = None

    @classmethod
    def from_bytes(cls, items: list[bytes], descriptor: Any) -> WireRows:
        lengths = np.fromiter(map(len, items), np.int64, len(items))
        ends = np.cumsum(lengths)
        buf = np.frombuffer(b"".join([*items, bytes(PAD)]), np.uint8)
        return cls(buf, ends - lengths, ends, descriptor)

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self.messages[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.messages)

    @property
    def messages(self) -> list[Any]:
        """The rows as attribute-view messages, parsed on first use."""
        if self._messages is None:
            parse = view_class(self.descriptor.full_name).FromString
            items = self._items
            if items is None:
                data = self.buf.tobytes()
                bounds = zip(self.starts.tolist(), self.ends.tolist(), strict=True)
                items = [data[s:e] for s, e in bounds]
            self._messages = list(map(parse, items))
        return self._messages

    def scan(self) -> Scan:
        if self._scan is None:
            if self._declined is not None:
                raise Unsupported(self._declined)
            try:
                self._scan = scan(self.buf, self.starts, self.ends)
            except Unsupported as exc:  # declined once, declined for every column
                self._declined = str(exc)
                raise
        return self._scan

    def number_of(self, field: Any) -> int:
        """The number ``scan`` reports ``field`` under."""
        return int(field.number)

    def field(self, name: str) -> Any:
        field = self.descriptor.fields_by_name.get(name)
        if field is None:
            raise Unsupported(f"{self.descriptor.name} has no field {name!r}")
        return field

    def leaf(self, path: Sequence[str]) -> Leaf:
        """Field ``path`` (singular messages, then any field) of every row."""
        if not path:
            raise Unsupported("an empty path")
        if len(path) == 1:
            return self._leaf(self.field(path[0]))
        parent = self.field(path[0])
        if parent.type != FD.TYPE_MESSAGE or _repeated(parent):
            raise Unsupported(f"{parent.name} is not a singular message")
        found = self.scan().occurrences(self.number_of(parent), (2,), repeated=True)
        owners = self.scan().message[found]
        if len(owners) > 1 and np.any(owners[1:] == owners[:-1]):
            raise Unsupported(f"{parent.name} occurs twice in one message (merged by protobuf)")
        starts = self.scan().value[found].astype(np.int64)
        inner = WireRows(self.buf, starts, starts + self.scan().length[found], parent.message_type)
        return _spread(inner.leaf(path[1:]), owners, len(self))

    def children(self, path: Sequence[str]) -> tuple[WireRows, np.ndarray]:
        """The messages of a repeated message field, and each row's offsets into them."""
        leaf = self.leaf(path)
        if leaf.field.type != FD.TYPE_MESSAGE or leaf.offsets is None:
            raise Unsupported(f"{'.'.join(path)} is not a repeated message field")
        return leaf.rows(), leaf.offsets

    def _leaf(self, field: Any) -> Leaf:
        count = len(self)
        found = self.scan()
        if field.type in _RANGES:
            number = self.number_of(field)
            occ = found.occurrences(number, (2,), _repeated(field))
            starts = found.value[occ].astype(np.int64)
            lengths = found.length[occ]
            if _repeated(field):
                present, offsets = _counted(found.message[occ], count)
                return Leaf(field, self.buf, present, None, starts, lengths, offsets)
            if field.type == FD.TYPE_MESSAGE and not _unique(found, number):
                raise Unsupported(f"{field.name} occurs twice in one message (merged by protobuf)")
            if len(occ) == count:  # in every row (singular occurrences come in row order)
                return Leaf(field, self.buf, np.ones(count, bool), None, starts, lengths)
            present = np.zeros(count, bool)
            present[found.message[occ]] = True
            row_starts = np.zeros(count, np.int64)
            row_lengths = np.zeros(count, np.int64)
            row_starts[found.message[occ]] = starts
            row_lengths[found.message[occ]] = lengths
            return Leaf(field, self.buf, present, None, row_starts, row_lengths)
        if field.type not in _NUMERIC:
            raise Unsupported(f"field type {field.type} of {field.name}")
        wire, width, dtype = _NUMERIC[field.type]
        if not _repeated(field):
            occ = found.occurrences(self.number_of(field), (wire,), repeated=False)
            if len(occ) == count:
                return Leaf(field, self.buf, np.ones(count, bool), _numbers(found, occ, field.type))
            values = np.zeros(count, dtype)
            values[found.message[occ]] = _numbers(found, occ, field.type)
            present = np.zeros(count, bool)
            present[found.message[occ]] = True
            return Leaf(field, self.buf, present, values)
        occ = found.occurrences(self.number_of(field), (wire, 2), repeated=True)
        packed = found.wire[occ] == 2
        if packed.any() and not width:
            raise Unsupported(f"packed varints in {field.name}")
        per = np.where(packed, found.length[occ] // max(width, 1), 1)
        owners = np.repeat(found.message[occ], per)
        first = found.value[occ].astype(np.int64)
        within = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
        positions = np.repeat(first, per) + within * width
        if width:
            values = fixed(self.buf, positions, width, dtype)
        else:
            values = _numbers(found, occ, field.type)
        present, offsets = _counted(owners, count)
        return Leaf(field, self.buf, present, values, offsets=offsets)


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)


def _unique(found: Scan, number: int) -> bool:
    owners = found.message[found.number == number]
    return len(owners) < 2 or int(np.bincount(owners).max()) < 2


def _counted(owners: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(row has elements, offsets) from the sorted owner of each element."""
    counts = np.bincount(owners, minlength=count)
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return counts > 0, offsets


def _numbers(found: Scan, occ: np.ndarray, kind: int) -> np.ndarray:
    """The values of numeric occurrences, as protobuf reads them."""
    _, width, dtype = _NUMERIC[kind]
    if width:
        return fixed(found.buf, found.value[occ].astype(np.int64), width, dtype)
    raw = found.value[occ]
    if kind == FD.TYPE_BOOL:
        return raw != 0
    if dtype in ("<i4", "<u4"):
        return (raw & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(dtype)
    return raw.view(dtype)


def _spread(leaf: Leaf, owners: np.ndarray, count: int) -> Leaf:
    """A leaf read from the submessages of some rows, placed back on all ``count`` rows."""
    present = np.zeros(count, bool)
    present[owners] = leaf.present
    if leaf.offsets is not None:
        counts = np.zeros(count, np.int64)
        counts[owners] = np.diff(leaf.offsets)
        offsets = np.zeros(count + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return Leaf(leaf.field, leaf.buf, present, leaf.values, leaf.starts, leaf.lengths, offsets)
    values = starts = lengths = None
    if leaf.values is not None:
        values = np.zeros(count, leaf.values.dtype)
        values[owners] = leaf.values
    if leaf.starts is not None and leaf.lengths is not None:
        starts = np.zeros(count, np.int64)
        lengths = np.zeros(count, np.int64)
        starts[owners], lengths[owners] = leaf.starts, leaf.lengths
    return Leaf(leaf.field, leaf.buf, present, values, starts, lengths)


@functools.cache
def descriptor(full_name: str) -> Any:
    """The descriptor of an OTLP message by full name (the real one, not a view)."""
    from google.protobuf import descriptor_pool

    return descriptor_pool.Default().FindMessageTypeByName(full_name)
