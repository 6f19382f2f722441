"""Table engines: what the one ``Pipeline`` asks of the tables it moves, per table, never per row.

Two implement ``TableEngine``: ``engine/arrow.py`` (Arrow tables, pyarrow's writer) and
``engine/lite/engine.py`` (plain Python lists and the pure-Python writer, for the Cloudflare
Worker, where pyarrow cannot be installed). ``parquet.engine`` picks one (``choose_engine``);
``make_engine`` builds it without importing the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from otlp2parquet.errors import ConfigError

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config
    from otlp2parquet.plugin.registry import Component
    from otlp2parquet.schema.tables import TableSchema
    from otlp2parquet.types import Partition, Partitioner, SchemaMapper

ENGINES = ("auto", "pyarrow", "lite")

#: One table → its parts, one per partition (``Partitioner.split``'s shape).
Splitter = Callable[["TableSchema", Any], Iterable[tuple["Partition", Any]]]


class TableOps(Protocol):
    """What the batcher asks of the tables it buffers (each has ``num_rows``)."""

    def nbytes(self, table: Any) -> int:
        """The table's size in memory (an estimate is fine: it bounds the buffers)."""
        ...

    def concat(self, tables: Sequence[Any]) -> Any:
        """One table of ``tables``' rows, in order (all of one schema)."""
        ...


class TableEngine(TableOps, Protocol):
    """How tables are made, split and written; the pipeline does the rest the same way."""

    #: ``pyarrow`` or ``lite``
    name: str

    def mapper(self, component: Component, tables: Mapping[str, TableSchema]) -> SchemaMapper:
        """The schema mapper of a registered ``schema_mapper`` component, in this engine's
        form (ConfigError when it has none)."""
        ...

    def splitter(self, partitioner: Partitioner, scheme: str) -> Splitter:
        """How ``partitioner`` splits this engine's tables (ConfigError when it cannot)."""
        ...

    def time_bounds(self, table: Any, schema: TableSchema) -> tuple[int, int]:
        """The least and greatest value of ``schema``'s time column, in µs (0 when null)."""
        ...

    def to_parquet(self, table: Any, schema: TableSchema) -> bytes:
        """The whole Parquet file for ``table``."""
        ...


def pyarrow_available() -> bool:
    """Whether the pyarrow engine can run here (pyarrow and numpy importable)."""
    try:
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def choose_engine(config: Config) -> str:
    """``parquet.engine`` resolved: ``pyarrow`` or ``lite`` (``auto``: pyarrow when it can be
    imported)."""
    engine = str(config.get("parquet.engine") or "auto")
    if engine not in ENGINES:
        raise ConfigError(f"parquet.engine {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "auto":
        engine = "pyarrow" if pyarrow_available() else "lite"
    return engine


def make_engine(name: str, config: Config) -> TableEngine:
    """The engine ``name`` (``pyarrow`` or ``lite``) with the writer ``storage.*`` configures;
    only that engine's modules are imported."""
    if name == "lite":
        from otlp2parquet.engine.lite.engine import LiteEngine

        return LiteEngine(config)
    if name == "pyarrow":
        from otlp2parquet.engine.arrow import ArrowEngine

        return ArrowEngine(config)
    raise ConfigError(f"unknown table engine {name!r}; use pyarrow or lite")
