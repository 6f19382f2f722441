"""The extraction plan: each column's declared source compiled into a column builder.

A source is ``<level>.<field path>``: the level names a list of objects the mapper collected
(``resource_group``, ``scope_group``, ``metric``, ``record``, ``point`` ...; ``resource`` and
``scope`` are shorthands for ``resource_group.resource`` and ``scope_group.scope``), the path is
read with ``operator.attrgetter``. ``[]`` expands a repeated field into a list column
(``record.events[].name``); a list-typed column without ``[]`` takes a repeated scalar field as
is. ``extractor:<name>`` computes a column from the objects of the level named by ``on``.

Row-level values come in two ways. Protobuf records stay serialized (``wirerows.WireRows``)
and a column reads its field path for all rows at once with numpy (``wiretransforms``: one scan
of the records, then a few array operations per column), in chunks of ``CHUNK_ROWS``. Anything
else (JSON structs, a transform without a wire form, an encoding the scanner declines) is read
per object, as Python lists converted in bulk; ``WireRows`` parse their records for that on
first use. Group-level columns (resource, scope, metric) are computed once per group and
expanded with one ``take`` per level.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa

from otlp2parquet.mapping.registry import lookup, optional
from otlp2parquet.mapping.transforms import ArrowTransform, Extractor, read
from otlp2parquet.mapping.wire.protoview import as_record_views, as_views
from otlp2parquet.mapping.wire.rows import WireRows, descriptor
from otlp2parquet.mapping.wire.scan import Unsupported
from otlp2parquet.mapping.wire.transforms import WireExtractor, WireTransform
from otlp2parquet.schema.table_plan import ColumnSpec, check_levels, walk_groups
from otlp2parquet.schema.tables import Column, TableSchema

log = logging.getLogger(__name__)
#: Rows read from serialized records at a time (a 64 MiB request holds ~300,000 log records).
CHUNK_ROWS = 1 << 16


@dataclass
class Rows:
    """What a mapper collected: objects per level and, for each group level, every row's index
    into that level's objects."""

    row_level: str
    objects: dict[str, Any]
    index: dict[str, np.ndarray] = field(default_factory=dict)
    wire: Any = None  # a message descriptor: the row objects are serialized messages of it

    @property
    def count(self) -> int:
        return len(self.objects[self.row_level])

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Rows]:
        """The rows in chunks of at most ``size``, serialized ones as ``WireRows``: a huge
        request is read a chunk at a time, which bounds the memory its columns take."""
        if self.wire is None:
            yield self
            return
        items = self.objects[self.row_level]
        for start in range(0, len(items), size):
            stop = start + size
            objects = dict(self.objects)
            objects[self.row_level] = WireRows.from_bytes(items[start:stop], self.wire)
            index = {level: rows[start:stop] for level, rows in self.index.items()}
            yield Rows(self.row_level, objects, index)


def group_rows(requests: Iterable[Any], resources: str, scopes: str, records: str) -> Rows:
    """Flatten requests → resource groups → scope groups → records (row level ``record``)."""
    groups = walk_groups(requests, resources, scopes, records)
    counts = groups.counts
    return Rows(
        "record",
        {
            "resource_group": groups.resource_groups,
            "scope_group": groups.scope_groups,
            "record": groups.records,
        },
        {
            "resource_group": np.repeat(np.asarray(groups.scope_resource, np.int64), counts),
            "scope_group": np.repeat(np.arange(len(counts), dtype=np.int64), counts),
        },
    )


def request_rows(
    requests: Sequence[Any], resources: str, scopes: str, records: str, record_type: str
) -> Rows:
    """``group_rows`` of decoded requests: protobuf ones as record views, whose records
    (``record_type``, e.g. ``opentelemetry.proto.logs.v1.LogRecord``) become ``WireRows``;
    anything else as it is."""
    views = as_record_views(requests)
    if views is None:
        return group_rows(as_views(requests), resources, scopes, records)
    rows = group_rows(views, resources, scopes, records)
    rows.wire = descriptor(record_type)
    return rows


class ColumnPlan(ColumnSpec):
    """How one column is filled, as Arrow arrays: the table plan's column with the Arrow and
    wire forms of its extractor and transform."""

    def __init__(self, schema: TableSchema, column: Column) -> None:
        self.type = column.arrow_type
        super().__init__(schema, column, pa.types.is_list(self.type))
        src, where = self.source, self.where
        self.extract: Extractor | None = None
        if src.extractor:
            self.extract = lookup(src.extractor, "extractor", "arrow", where)
        self.element_type = self.type.value_type if self.is_list else self.type
        name = src.transform
        self.transform: ArrowTransform = lookup(name, "transform", "arrow", where)
        self.cache_key = (self.level, column.name, column.source, column.arrow, name)
        # reading serialized rows (``wirerows``) where a wire form of the transform exists
        self.wire_transform: WireTransform | None = optional(name, "transform", "wire")
        self.wire_extract: WireExtractor | None = None
        if self.extract is not None:
            self.wire_extract = optional(src.extractor, "extractor", "wire")
        self.wired = (self.wire_extract or self.wire_transform) is not None

    def values(self, objects: Sequence[Any], cache: dict[Any, Any]) -> pa.Array:
        """The column's values for ``objects`` (the objects of its level)."""
        if self.wired and isinstance(objects, WireRows):
            try:
                return self._wire_values(objects, cache)
            except Unsupported as exc:  # read from messages instead
                log.debug("column %s: reading messages (%s)", self.name, exc)
        offsets = None
        if self.is_list:
            key = ("flat", self.level, self.list_path, id(objects))
            if key not in cache:
                seqs = read(self.list_getter, objects)
                lengths = np.fromiter(map(len, seqs), np.int32, len(seqs))
                bounds = np.zeros(len(seqs) + 1, np.int32)
                np.cumsum(lengths, out=bounds[1:])
                cache[key] = (list(chain.from_iterable(seqs)), bounds)
            objects, offsets = cache[key]
        if self.extract is not None:
            array = pa.array(self.extract(objects), self.element_type)
        else:
            array = self.transform(self._read(objects, cache), objects, self.element_type, self)
        if offsets is not None:
            return pa.ListArray.from_arrays(pa.array(offsets), array, type=self.type)
        return array

    def _wire_values(self, rows: WireRows, cache: dict[Any, Any]) -> pa.Array:
        offsets = None
        if self.is_list and self.expand:
            key = ("children", self.list_parts, id(rows))
            if key not in cache:
                cache[key] = rows.children(self.list_parts)
            rows, offsets = cache[key]
        if self.wire_extract is not None:
            array = pa.array(self.wire_extract(rows), self.element_type)
        elif self.extract is not None or self.wire_transform is None:
            raise Unsupported(f"no wire form for column {self.name}")
        else:
            as_is = self.is_list and offsets is None  # a repeated scalar field, as a list
            leaf = rows.leaf(self.list_parts if as_is else self.value_path)
            if as_is:
                offsets = leaf.offsets
                if offsets is None:
                    raise Unsupported(f"{self.list_path} is not repeated")
            array = self.wire_transform(leaf, rows, self.element_type, self)
        if offsets is not None:
            bounds = pa.array(offsets.astype(np.int32))
            return pa.ListArray.from_arrays(bounds, array, type=self.type)
        return array

    def _read(self, objects: Sequence[Any], cache: dict[Any, Any]) -> Sequence[Any]:
        """The values at the column's path; the messages on the way (``status`` of
        ``status.code``) are read once for every column under them."""
        if not self.parent_path:
            return read(self.getter, objects)
        key = ("parent", self.parent_path, id(objects))
        if key not in cache:
            cache[key] = read(self.parent_getter, objects)
        return read(self.leaf_getter, cache[key])


class TablePlan:
    """A schema's columns as builders; ``build(rows)`` gives the Arrow table."""

    def __init__(self, schema: TableSchema, levels: Iterable[str]) -> None:
        self.schema = schema
        self.columns = [ColumnPlan(schema, c) for c in schema.columns]
        check_levels(schema, self.columns, levels)

    def build(
        self,
        rows: Rows,
        cache: dict[Any, Any] | None = None,
        given: Mapping[str, Any] | None = None,
    ) -> pa.Table:
        """One table from collected rows; ``cache`` shares group-level work between tables,
        ``given`` holds columns already built (by ``columns`` over a larger set of rows)."""
        given = given or {}
        built = self.columns_for(rows, [c.name for c in self.columns if c.name not in given], cache)
        arrays = [given[c.name] if c.name in given else built[c.name] for c in self.columns]
        return pa.Table.from_arrays(arrays, schema=self.schema.arrow_schema)

    def columns_for(
        self, rows: Rows, names: Iterable[str], cache: dict[Any, Any] | None = None
    ) -> dict[str, Any]:
        """The named columns for ``rows``: row-level ones read directly, group-level ones
        built once per group and expanded to the rows by one ``take`` per level."""
        cache = {} if cache is None else cache
        wanted = set(names)
        arrays: dict[str, Any] = {}
        groups: dict[str, list[str]] = {}  # group level → names of its columns
        for plan in self.columns:
            if plan.name not in wanted:
                continue
            objects = rows.objects[plan.level]
            if plan.level == rows.row_level:
                arrays[plan.name] = plan.values(objects, cache)
                continue
            key = (plan.cache_key, id(objects))
            if key not in cache:
                cache[key] = plan.values(objects, cache)
            arrays[plan.name] = cache[key]
            groups.setdefault(plan.level, []).append(plan.name)
        for level, level_names in groups.items():
            table = pa.Table.from_arrays([arrays[n] for n in level_names], names=level_names)
            taken = table.take(rows.index[level]).columns
            arrays.update(zip(level_names, taken, strict=True))
        return arrays
