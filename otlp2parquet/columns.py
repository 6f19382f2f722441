"""The extraction plan: each column's declared source compiled into a column builder.

A source is ``<level>.<field path>``: the level names a list of objects the mapper collected
(``resource_group``, ``scope_group``, ``metric``, ``record``, ``point`` ...; ``resource`` and
``scope`` are shorthands for ``resource_group.resource`` and ``scope_group.scope``), the path is
read with ``operator.attrgetter``. ``[]`` expands a repeated field into a list column
(``record.events[].name``); a list-typed column without ``[]`` takes a repeated scalar field as
is. ``extractor:<name>`` computes a column from the objects of the level named by ``on``.

Values are collected per column as Python lists and converted in bulk; group-level columns
(resource, scope, metric) are computed once per group and expanded with ``take``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa

from otlp2parquet.errors import ConfigError
from otlp2parquet.schema import Column, TableSchema
from otlp2parquet.transforms import EXTRACTORS, TRANSFORMS, Extractor, read

ALIASES = {"resource": ("resource_group", "resource"), "scope": ("scope_group", "scope")}


@dataclass
class Rows:
    """What a mapper collected: objects per level and, for each group level, every row's index
    into that level's objects."""

    row_level: str
    objects: dict[str, list[Any]]
    index: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.objects[self.row_level])


def group_rows(requests: Iterable[Any], resources: str, scopes: str, records: str) -> Rows:
    """Flatten requests → resource groups → scope groups → records (row level ``record``)."""
    resource_groups: list[Any] = []
    scope_groups: list[Any] = []
    rows: list[Any] = []
    scope_resource: list[int] = []
    counts: list[int] = []
    for request in requests:
        for resource_group in getattr(request, resources):
            resource_groups.append(resource_group)
            for scope_group in getattr(resource_group, scopes):
                items = getattr(scope_group, records)
                if items:
                    scope_resource.append(len(resource_groups) - 1)
                    scope_groups.append(scope_group)
                    counts.append(len(items))
                    rows.extend(items)
    return Rows(
        "record",
        {"resource_group": resource_groups, "scope_group": scope_groups, "record": rows},
        {
            "resource_group": np.repeat(np.asarray(scope_resource, np.int64), counts),
            "scope_group": np.repeat(np.arange(len(counts), dtype=np.int64), counts),
        },
    )


def _path(text: str) -> tuple[str, tuple[str, ...]]:
    level, _, rest = text.partition(".")
    if level in ALIASES:
        level, first = ALIASES[level]
        return level, (first, *filter(None, rest.split(".")))
    return level, tuple(filter(None, rest.split(".")))


def _getter(path: Sequence[str]) -> Callable[[Any], Any] | None:
    return attrgetter(".".join(path)) if path else None


class ColumnPlan:
    """How one column is filled."""

    def __init__(self, schema: TableSchema, column: Column) -> None:
        self.column = column
        self.name = column.name
        self.type = column.arrow_type
        self.options = column.options
        where = f"schema {schema.name}, column {column.name}"
        source = column.source
        self.extract: Extractor | None = None
        if source.startswith("extractor:"):
            name = source.partition(":")[2]
            if name not in EXTRACTORS:
                raise ConfigError(f"{where}: unknown extractor {name!r}")
            self.extract = EXTRACTORS[name]
            source = str(self.options.get("on", ""))
        before, expand, after = source.partition("[]")
        self.level, path = _path(before)
        self.is_list = pa.types.is_list(self.type)
        if expand and not self.is_list:
            raise ConfigError(f"{where}: source {column.source!r} expands a list; type is not")
        self.element_type = self.type.value_type if self.is_list else self.type
        self.list_getter = _getter(path) if self.is_list else None
        self.list_path = ".".join(path)
        value_path = tuple(filter(None, after.split("."))) if self.is_list else path
        if self.is_list and not expand and self.extract is None:
            value_path = ()  # a repeated scalar field, taken as is
        self.getter = _getter(value_path)
        self.leaf = value_path[-1] if value_path else ""
        self.parent_getter = _getter(value_path[:-1])
        self.fallback = None
        if "fallback" in self.options:
            self.fallback = _getter(_path(str(self.options["fallback"]))[1])
        name = str(self.options.get("transform", "value"))
        if name not in TRANSFORMS:
            raise ConfigError(f"{where}: unknown transform {name!r}")
        self.transform = TRANSFORMS[name]
        self.cache_key = (self.level, column.name, column.source, column.arrow, name)

    def values(self, objects: list[Any], cache: dict[Any, Any]) -> pa.Array:
        """The column's values for ``objects`` (the objects of its level)."""
        offsets = None
        if self.is_list:
            key = ("flat", self.level, self.list_path, id(objects))
            if key not in cache:
                seqs = read(self.list_getter, objects)
                lengths = np.fromiter(map(len, seqs), np.int32, len(seqs))
                bounds = np.zeros(len(seqs) + 1, np.int32)
                np.cumsum(lengths, out=bounds[1:])
                cache[key] = ([x for seq in seqs for x in seq], bounds)
            objects, offsets = cache[key]
        if self.extract is not None:
            array = pa.array(self.extract(objects), self.element_type)
        else:
            array = self.transform(read(self.getter, objects), objects, self.element_type, self)
        if offsets is not None:
            return pa.ListArray.from_arrays(pa.array(offsets), array, type=self.type)
        return array


class TablePlan:
    """A schema's columns as builders; ``build(rows)`` gives the Arrow table."""

    def __init__(self, schema: TableSchema, levels: Iterable[str]) -> None:
        self.schema = schema
        self.columns = [ColumnPlan(schema, c) for c in schema.columns]
        known = set(levels)
        for plan in self.columns:
            if plan.level not in known:
                raise ConfigError(
                    f"schema {schema.name}, column {plan.name}: unknown level {plan.level!r}; "
                    f"known: {', '.join(sorted(known))}"
                )

    def build(self, rows: Rows, cache: dict[Any, Any] | None = None) -> pa.Table:
        """One table from collected rows; ``cache`` shares group-level work between tables."""
        cache = {} if cache is None else cache
        arrays = []
        for plan in self.columns:
            objects = rows.objects[plan.level]
            if plan.level == rows.row_level:
                arrays.append(plan.values(objects, cache))
                continue
            key = (plan.cache_key, id(objects))
            if key not in cache:
                cache[key] = plan.values(objects, cache)
            arrays.append(cache[key].take(rows.index[plan.level]))
        return pa.Table.from_arrays(arrays, schema=self.schema.arrow_schema)
