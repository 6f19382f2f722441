"""The one table plan: how each column of a schema is read, derived once from its declaration
(``column_sources``), the check that every column names a known level, and the walk from
requests to the objects of each level. The two table engines execute it: the Arrow plan
(``mapping/columns.py``) and the pure-Python one (``engine/lite/mapping.py``) add only the forms
of their values (``mapping.registry``). No pyarrow here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.column_sources import getter, parse_source
from otlp2parquet.schema.tables import Column, TableSchema

#: The levels of record-per-row signals (logs, traces).
RECORD_LEVELS = ("resource_group", "scope_group", "record")


class ColumnSpec:
    """How one column is read: its level, the paths and getters to its value (or, for a list
    column, to the repeated field and then each element), its extractor and transform names."""

    def __init__(self, schema: TableSchema, column: Column, is_list: bool) -> None:
        self.column = column
        self.name = column.name
        self.options = column.options
        self.where = f"schema {schema.name}, column {column.name}"
        self.is_list = is_list
        self.source = src = parse_source(column, is_list, self.where)
        self.level, path, value_path = src.level, src.path, src.value_path
        self.list_getter = getter(path) if is_list else None
        self.list_path = ".".join(path)
        self.list_parts = tuple(path) if is_list else ()
        self.value_path = value_path
        self.getter = getter(value_path)
        self.leaf = value_path[-1] if value_path else ""
        self.parent_getter = getter(value_path[:-1])
        self.parent_path = ".".join(value_path[:-1])
        self.leaf_getter = getter(value_path[-1:])
        self.fallback_path = src.fallback_path
        self.fallback = getter(src.fallback_path)
        self.expand = src.expand


def check_levels(schema: TableSchema, specs: Iterable[ColumnSpec], levels: Iterable[str]) -> None:
    """ConfigError naming the column whose level is not one of ``levels``."""
    known = set(levels)
    for spec in specs:
        if spec.level not in known:
            raise ConfigError(
                f"schema {schema.name}, column {spec.name}: unknown level {spec.level!r}; "
                f"known: {', '.join(sorted(known))}"
            )


@dataclass
class Groups:
    """Requests flattened: resource groups, scope groups (those holding records) and records,
    with each scope group's resource group and record count."""

    resource_groups: list[Any] = field(default_factory=list)
    scope_groups: list[Any] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)
    scope_resource: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


def walk_groups(requests: Iterable[Any], resources: str, scopes: str, records: str) -> Groups:
    """Requests → resource groups → scope groups → records; scope groups without records are
    left out."""
    out = Groups()
    for request in requests:
        for resource_group in getattr(request, resources):
            out.resource_groups.append(resource_group)
            for scope_group in getattr(resource_group, scopes):
                items = getattr(scope_group, records)
                if items:
                    out.scope_resource.append(len(out.resource_groups) - 1)
                    out.scope_groups.append(scope_group)
                    out.counts.append(len(items))
                    out.records.extend(items)
    return out
