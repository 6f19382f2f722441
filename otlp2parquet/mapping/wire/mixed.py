"""Serialized rows of several message types read as one (``wirerows.WireRows``), so that the
columns every metric table declares alike are read once for the data points of all types."""

from __future__ import annotations

from typing import Any

import numpy as np

from otlp2parquet.mapping.wire.protoview import view_class
from otlp2parquet.mapping.wire.rows import WireRows
from otlp2parquet.mapping.wire.scan import Scan, Unsupported, padded, scan


class MixedRows(WireRows):
    """Rows of several message types (``types[i]`` for row i) read as one, through the fields
    they share by name, type and cardinality (the data points of every metric type share
    attributes, times, flags and exemplars). Fields are renumbered to one numbering."""

    def __init__(self, items: list[bytes], types: np.ndarray, descriptors: list[Any]) -> None:
        lengths = np.fromiter(map(len, items), np.int64, len(items))
        ends = np.cumsum(lengths)
        super().__init__(padded(b"".join(items)), ends - lengths, ends, descriptors[0])
        self._items = items
        self.types, self.descriptors = types, descriptors
        self.names = sorted({f.name for d in descriptors for f in d.fields})
        table = np.full(
            (len(descriptors), 1 + max(f.number for d in descriptors for f in d.fields)), -1
        )
        for t, d in enumerate(descriptors):
            for f in d.fields:
                table[t, f.number] = self.names.index(f.name)
        self.table = table

    @property
    def messages(self) -> list[Any]:
        if self._messages is None:
            parses = [view_class(d.full_name).FromString for d in self.descriptors]
            assert self._items is not None
            self._messages = [
                parses[t](item) for t, item in zip(self.types.tolist(), self._items, strict=True)
            ]
        return self._messages

    def scan(self) -> Scan:
        if self._scan is None:
            found = scan(self.buf, self.starts, self.ends)
            kinds = self.types[found.message]
            known = found.number < self.table.shape[1]
            numbers = np.where(known, self.table[kinds, np.where(known, found.number, 0)], -1)
            fields: dict[int, list[np.ndarray]] = {}
            for number in np.unique(numbers).tolist():
                fields[number] = [np.flatnonzero(numbers == number)]
            found.number, found.fields = numbers, fields
            self._scan = found
        return self._scan

    def field(self, name: str) -> Any:
        fields = [d.fields_by_name.get(name) for d in self.descriptors]
        first = fields[0]
        if first is None or any(
            f is None
            or f.type != first.type
            or f.is_repeated != first.is_repeated
            or (f.message_type and f.message_type.full_name)
            != (first.message_type and first.message_type.full_name)
            for f in fields
        ):
            raise Unsupported(f"{name} is not alike in every point type")
        return first

    def number_of(self, field: Any) -> int:
        return self.names.index(field.name)
