"""Schema mapper for traces: ExportTraceServiceRequest → ``otel_traces`` rows, one per Span,
with events and links as parallel list columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from otlp2parquet import hookimpl
from otlp2parquet.columns import TablePlan, request_rows
from otlp2parquet.registry import Register
from otlp2parquet.schema import TableSchema
from otlp2parquet.types import MappedBatch

LEVELS = ("resource_group", "scope_group", "record")
RECORD = "opentelemetry.proto.trace.v1.Span"


class TracesMapper:
    """Fills the traces table from the schema file's extraction plan."""

    signal = "traces"

    def __init__(self, schemas: Mapping[str, TableSchema]) -> None:
        self.plans = {name: TablePlan(schema, LEVELS) for name, schema in schemas.items()}

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        rows = request_rows(requests, "resource_spans", "scope_spans", "spans", RECORD)
        batch = MappedBatch()
        if rows.count:
            pieces: dict[str, list[pa.Table]] = {name: [] for name in self.plans}
            for chunk in rows.chunks():
                cache: dict[Any, Any] = {}
                for name, plan in self.plans.items():
                    pieces[name].append(plan.build(chunk, cache))
            for name, tables in pieces.items():
                batch.tables[name] = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        return batch


@hookimpl
def register_schema_mappers(register: Register) -> None:
    register(name="traces", factory=TracesMapper, signal="traces", tables=["traces"])
