"""Schema mapper for logs: ExportLogsServiceRequest → ``otel_logs`` rows, one per LogRecord."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from otlp2parquet import hookimpl
from otlp2parquet.columns import TablePlan, group_rows
from otlp2parquet.protoview import as_views
from otlp2parquet.registry import Register
from otlp2parquet.schema import TableSchema
from otlp2parquet.types import MappedBatch

LEVELS = ("resource_group", "scope_group", "record")


class LogsMapper:
    """Fills the logs table from the schema file's extraction plan."""

    signal = "logs"

    def __init__(self, schemas: Mapping[str, TableSchema]) -> None:
        self.plans = {name: TablePlan(schema, LEVELS) for name, schema in schemas.items()}

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        rows = group_rows(as_views(requests), "resource_logs", "scope_logs", "log_records")
        batch = MappedBatch()
        if rows.count:
            cache: dict[Any, Any] = {}
            for name, plan in self.plans.items():
                batch.tables[name] = plan.build(rows, cache)
        return batch


@hookimpl
def register_schema_mappers(register: Register) -> None:
    register(name="logs", factory=LogsMapper, signal="logs", tables=["logs"])
