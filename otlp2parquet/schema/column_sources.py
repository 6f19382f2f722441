"""A column's ``source`` declaration parsed, without pyarrow: shared by the Arrow extraction
plan (``columns.py``) and the pyarrow-free one (``lite.mapping``).

``<level>.<field path>`` names a level of collected objects and the path read on each;
``resource`` and ``scope`` are shorthands for a field of their group; ``[]`` expands a repeated
field into a list column; ``extractor:<name>`` computes the column from the level named by the
``on`` option.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import Column

ALIASES = {"resource": ("resource_group", "resource"), "scope": ("scope_group", "scope")}


@dataclass(frozen=True)
class Source:
    """What a column reads: ``path`` leads (from an object of ``level``) to the value, or for a
    list column to the repeated field, whose elements are read at ``value_path``."""

    level: str
    path: tuple[str, ...]
    value_path: tuple[str, ...]
    expand: bool
    extractor: str  # "" for none
    fallback_path: tuple[str, ...]
    transform: str


def level_path(text: str) -> tuple[str, tuple[str, ...]]:
    """``level.a.b`` as ``(level, ("a", "b"))``, shorthands resolved."""
    level, _, rest = text.partition(".")
    parts = tuple(filter(None, rest.split(".")))
    if level in ALIASES:
        level, first = ALIASES[level]
        return level, (first, *parts)
    return level, parts


def getter(path: Sequence[str]) -> Callable[[Any], Any] | None:
    """An ``attrgetter`` for ``path``; None for the empty path (the object itself)."""
    return attrgetter(".".join(path)) if path else None


def parse_source(column: Column, is_list: bool, where: str) -> Source:
    """``column``'s source and options parsed; ConfigError (prefixed ``where``) if a list is
    expanded into a column whose type is not a list."""
    source = column.source
    extractor = ""
    if source.startswith("extractor:"):
        extractor = source.partition(":")[2]
        source = str(column.options.get("on", ""))
    before, expand, after = source.partition("[]")
    level, path = level_path(before)
    if expand and not is_list:
        raise ConfigError(f"{where}: source {column.source!r} expands a list; type is not")
    value_path = tuple(filter(None, after.split("."))) if is_list else path
    if is_list and not expand and not extractor:
        value_path = ()  # a repeated scalar field, taken as is
    fallback = column.options.get("fallback")
    return Source(
        level=level,
        path=path,
        value_path=value_path,
        expand=bool(expand),
        extractor=extractor,
        fallback_path=level_path(str(fallback))[1] if fallback is not None else (),
        transform=str(column.options.get("transform", "value")),
    )
