"""A third-party partitioner that splits Arrow tables only (no ``split_rows``), for the
table-engine tests (``plugins.modules = ["support.arrow_only_partitioner"]``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from otlp2parquet import hookimpl
from otlp2parquet.plugins.partition_hive import HiveHourly
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import Partition


class ArrowOnlyPartitioner:
    """``hive_hourly`` without ``split_rows``."""

    def __init__(self) -> None:
        self.inner = HiveHourly()

    def split(self, schema: TableSchema, table: Any) -> Iterable[tuple[Partition, Any]]:
        return self.inner.split(schema, table)

    def object_key(self, partition: Partition, first_ts_us: int, token: str) -> str:
        return self.inner.object_key(partition, first_ts_us, token)


@hookimpl
def register_partitioners(register: Any) -> None:
    register(name="arrow_only", factory=lambda options: ArrowOnlyPartitioner())
