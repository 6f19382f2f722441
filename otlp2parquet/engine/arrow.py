"""The pyarrow table engine: Arrow tables from the registered schema mappers, split by the
partitioner's ``split``, written by pyarrow (``arrow_writer``). Every call is per table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from otlp2parquet.engine.arrow_writer import ParquetWriter

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config
    from otlp2parquet.engine import Splitter
    from otlp2parquet.plugin.registry import Component
    from otlp2parquet.schema.tables import TableSchema
    from otlp2parquet.types import Partitioner, SchemaMapper


class ArrowEngine:
    """``TableEngine`` over ``pa.Table``."""

    name = "pyarrow"

    def __init__(self, config: Config) -> None:
        self.writer = ParquetWriter(
            compression=config.get("storage.compression"),
            compression_level=config.get("storage.compression_level"),
            row_group_size=int(config.get("storage.parquet_row_group_size")),
        )

    def mapper(self, component: Component, tables: Mapping[str, TableSchema]) -> SchemaMapper:
        """Any registered mapper: its factory makes Arrow tables."""
        mapper: SchemaMapper = component.factory(tables)
        return mapper

    def splitter(self, partitioner: Partitioner, scheme: str) -> Splitter:
        return partitioner.split

    def nbytes(self, table: pa.Table) -> int:
        return int(table.nbytes)

    def concat(self, tables: Sequence[pa.Table]) -> pa.Table:
        return pa.concat_tables(tables)

    def time_bounds(self, table: pa.Table, schema: TableSchema) -> tuple[int, int]:
        bounds = pc.min_max(table.column(schema.time_column).cast(pa.int64()))
        return bounds["min"].as_py() or 0, bounds["max"].as_py() or 0

    def to_parquet(self, table: pa.Table, schema: TableSchema) -> bytes:
        return self.writer.to_bytes(table, schema)
