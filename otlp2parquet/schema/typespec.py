"""The schema files' type syntax, parsed without pyarrow: scalars, ``list<T>`` and
``map<string, T>``. ``schema.py`` turns a spec into an Arrow type; the pyarrow-free Parquet
writer (``otlp2parquet.engine.lite``) writes it directly."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

#: The scalar types schema files may use (no unsigned types: Iceberg has none).
SCHEMA_SCALARS = frozenset({"string", "bool", "int32", "int64", "float64", "timestamp[us,tz=UTC]"})


@dataclass(frozen=True)
class TypeSpec:
    """One parsed type: ``kind`` is ``scalar`` (``name`` set), ``list`` (``item``) or ``map``
    (``item`` is the value type; keys are strings). List elements and map values are never
    null."""

    kind: str
    name: str = ""
    item: TypeSpec | None = None

    def __str__(self) -> str:
        if self.kind == "list":
            return f"list<{self.item}>"
        if self.kind == "map":
            return f"map<string, {self.item}>"
        return self.name


def parse_type(text: str, scalars: Collection[str] = SCHEMA_SCALARS) -> TypeSpec:
    """``text`` as a TypeSpec; ValueError naming the allowed types when it is not one."""
    compact = text.replace(" ", "")
    if compact in scalars:
        return TypeSpec("scalar", compact)
    if compact.startswith("list<") and compact.endswith(">"):
        return TypeSpec("list", item=parse_type(compact[5:-1], scalars))
    if compact.startswith("map<") and compact.endswith(">"):
        key, _, value = compact[4:-1].partition(",")
        if key != "string" or not value:
            raise ValueError(f"map type {text!r} must be map<string, T>")
        return TypeSpec("map", item=parse_type(value, scalars))
    raise ValueError(
        f"unknown Arrow type {text!r}; use {', '.join(sorted(scalars))}, list<T> or map<string, T>"
    )
