"""Schema mapping without pyarrow: decoded OTLP requests → each table's columns as Python lists,
in the schema's column order, with the values of the Arrow mappers (``columns.py`` and
``plugins/map_*.py``).

The plan is read from the same schema files and declarations: each column's ``source`` (the
grammar of ``columns.py``: ``<level>.<path>``, ``[]`` expanding a repeated field,
``extractor:<name>`` with ``on``) and its ``transform`` name, whose pyarrow-free form
``mapping.registry`` names (``lite.values``). Requests are read as messages (protobuf or the
JSON decoder's structs); group columns (resource, scope, metric) are computed once per group
and repeated for its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain
from typing import Any, cast

from otlp2parquet.engine.lite.values import LiteExtractor, LiteTransform
from otlp2parquet.mapping.registry import lookup
from otlp2parquet.schema.table_plan import RECORD_LEVELS, ColumnSpec, check_levels, walk_groups
from otlp2parquet.schema.tables import Column, TableSchema
from otlp2parquet.types import MappedBatch


@dataclass
class LiteTable:
    """One table's rows as Python lists, one per schema column, in schema order."""

    schema: TableSchema
    columns: list[list[Any]]

    @property
    def num_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def column(self, name: str) -> list[Any]:
        return self.columns[self.schema.column_names.index(name)]

    def take(self, rows: Sequence[int]) -> LiteTable:
        return LiteTable(self.schema, [[c[i] for i in rows] for c in self.columns])

    @staticmethod
    def concat(tables: Sequence[LiteTable]) -> LiteTable:
        parts = zip(*(t.columns for t in tables), strict=True)
        columns = [list(chain.from_iterable(part)) for part in parts]
        return LiteTable(tables[0].schema, columns)


@dataclass
class Rows:
    """Objects per level and, for each group level, every row's index into them."""

    row_level: str
    objects: dict[str, list[Any]]
    index: dict[str, list[int]] = field(default_factory=dict)


class LitePlan(ColumnSpec):
    """How one column is filled, as Python lists: the table plan's column with the pure-Python
    forms of its extractor and transform."""

    def __init__(self, schema: TableSchema, column: Column) -> None:
        super().__init__(schema, column, column.type_spec.kind == "list")
        src, where = self.source, self.where
        self.extract: LiteExtractor | None = None
        if src.extractor:
            self.extract = lookup(src.extractor, "extractor", "python", where)
        self.transform: LiteTransform = lookup(src.transform, "transform", "python", where)

    def values(self, objects: Sequence[Any]) -> list[Any]:
        """The column's values for ``objects`` (the objects of its level)."""
        if not self.is_list:
            return self._scalars(objects)
        seqs = objects if self.list_getter is None else list(map(self.list_getter, objects))
        flat = list(chain.from_iterable(seqs))
        values = self._scalars(flat)
        stops = list(accumulate(map(len, seqs)))  # each object's slice, cut in C
        return list(map(values.__getitem__, map(slice, [0, *stops[:-1]], stops)))

    def _scalars(self, objects: Sequence[Any]) -> list[Any]:
        if self.extract is not None:
            return self.extract(objects)
        read = objects if self.getter is None else list(map(self.getter, objects))
        return self.transform(read, objects, self)


class LiteTablePlan:
    """A schema's columns as lite plans; ``build(rows)`` gives the table."""

    def __init__(self, schema: TableSchema, levels: Iterable[str]) -> None:
        self.schema = schema
        self.columns = [LitePlan(schema, c) for c in schema.columns]
        check_levels(schema, self.columns, levels)

    def build(self, rows: Rows) -> LiteTable:
        columns = []
        for plan in self.columns:
            values = plan.values(rows.objects[plan.level])
            if plan.level != rows.row_level:
                values = [values[i] for i in rows.index[plan.level]]
            columns.append(values)
        return LiteTable(self.schema, columns)


#: signal → the request's repeated fields: resources, scopes, records
RECORD_GROUPS = {
    "logs": ("resource_logs", "scope_logs", "log_records"),
    "traces": ("resource_spans", "scope_spans", "spans"),
}


def record_rows(requests: Sequence[Any], resources: str, scopes: str, records: str) -> Rows:
    """The table plan's walk (``walk_groups``) with each row's group indexes as lists."""
    groups = walk_groups(requests, resources, scopes, records)
    resource_index: list[int] = []
    scope_index: list[int] = []
    for scope, (resource, count) in enumerate(
        zip(groups.scope_resource, groups.counts, strict=True)
    ):
        resource_index.extend([resource] * count)
        scope_index.extend([scope] * count)
    return Rows(
        "record",
        {
            "resource_group": groups.resource_groups,
            "scope_group": groups.scope_groups,
            "record": groups.records,
        },
        {"resource_group": resource_index, "scope_group": scope_index},
    )


class LiteRecordMapper:
    """Logs and traces: one row per record, every table filled from its lite plan."""

    def __init__(self, signal: str, schemas: Mapping[str, TableSchema]) -> None:
        self.signal = signal
        self.groups = RECORD_GROUPS[signal]
        self.plans = {name: LiteTablePlan(s, RECORD_LEVELS) for name, s in schemas.items()}

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        rows = record_rows(requests, *self.groups)
        batch = MappedBatch()
        if rows.objects["record"]:
            for name, plan in self.plans.items():
                batch.tables[name] = cast(Any, plan.build(rows))  # a LiteTable
        return batch
