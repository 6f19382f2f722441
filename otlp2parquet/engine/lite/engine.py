"""The pure-Python table engine (no pyarrow, no numpy): ``LiteTable``s from the lite mappers,
split by the partitioner's ``split_rows``, written by ``LiteParquetWriter``. For runtimes where
pyarrow cannot be installed (the Cloudflare Worker)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from otlp2parquet.engine.lite.mapping import LiteRecordMapper, LiteTable
from otlp2parquet.engine.lite.metrics import LiteMetricsMapper
from otlp2parquet.engine.lite.parquet_writer import LiteParquetWriter
from otlp2parquet.errors import ConfigError

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config
    from otlp2parquet.engine import Splitter
    from otlp2parquet.plugin.registry import Component
    from otlp2parquet.schema.tables import TableSchema
    from otlp2parquet.types import Partition, Partitioner, SchemaMapper

log = logging.getLogger(__name__)

#: the built-in schema mappers' modules (their factories) that have a lite form, by signal
LITE_FORMS = {
    "otlp2parquet.plugins.map_logs": "logs",
    "otlp2parquet.plugins.map_traces": "traces",
    "otlp2parquet.plugins.map_metrics": "metrics",
}
LITE_SIGNALS = tuple(LITE_FORMS.values())
#: bytes counted per value, beside a string's length or a list's items
_VALUE_BYTES = 8


class LiteEngine:
    """``TableEngine`` over ``LiteTable`` (one Python list per column)."""

    name = "lite"

    def __init__(self, config: Config) -> None:
        compression = str(config.get("storage.compression"))
        if compression not in ("gzip", "none"):
            log.info("the lite Parquet writer has no %s codec: writing gzip", compression)
            compression = "gzip"
        self.writer = LiteParquetWriter(
            compression=compression,
            compression_level=config.get("storage.compression_level"),
            row_group_size=int(config.get("storage.parquet_row_group_size")),
        )

    def mapper(self, component: Component, tables: Mapping[str, TableSchema]) -> SchemaMapper:
        """The lite form of a built-in mapper; any other mapper (a third party's, even under a
        built-in's name) has none, and selecting it is a ConfigError."""
        signal = component.meta["signal"]
        module = getattr(component.factory, "__module__", "")
        if LITE_FORMS.get(module) != signal or component.name != signal:
            raise ConfigError(
                f"schema mapper {component.name!r} ({component.plugin}) for {signal} has no "
                'pyarrow-free form; disable it or set parquet.engine = "pyarrow"'
            )
        if signal == "metrics":
            return LiteMetricsMapper(tables)
        return LiteRecordMapper(signal, tables)

    def splitter(self, partitioner: Partitioner, scheme: str) -> Splitter:
        split_rows = getattr(partitioner, "split_rows", None)
        if split_rows is None:
            raise ConfigError(
                f"partitioning.scheme {scheme!r} cannot split plain rows (no split_rows); "
                'set parquet.engine = "pyarrow"'
            )

        def split(schema: TableSchema, table: LiteTable) -> list[tuple[Partition, LiteTable]]:
            services = table.column(schema.service_column)
            times = table.column(schema.time_column)
            return [
                (partition, table if len(rows) == table.num_rows else table.take(rows))
                for partition, rows in split_rows(schema, services, times)
            ]

        return split

    def nbytes(self, table: LiteTable) -> int:
        """An estimate: each value, plus each string's length and each list's items."""
        total = 0
        for values in table.columns:
            total += _VALUE_BYTES * len(values)
            sample: Any = next((v for v in values if v is not None), None)
            if isinstance(sample, str | bytes):
                total += sum(map(len, filter(None, values)))
            elif isinstance(sample, list | tuple):
                total += _VALUE_BYTES * 2 * sum(map(len, filter(None, values)))
        return total

    def concat(self, tables: Sequence[LiteTable]) -> LiteTable:
        return tables[0] if len(tables) == 1 else LiteTable.concat(tables)

    def time_bounds(self, table: LiteTable, schema: TableSchema) -> tuple[int, int]:
        times = table.column(schema.time_column)
        return min(times), max(times)

    def to_parquet(self, table: LiteTable, schema: TableSchema) -> bytes:
        return self.writer.to_bytes(table, schema)
