"""Schema mapper for traces: ExportTraceServiceRequest → ``otel_traces`` rows, one per Span,
with events and links as parallel list columns."""

from __future__ import annotations

from otlp2parquet import hookimpl
from otlp2parquet.mapping.record_mapper import RecordMapper
from otlp2parquet.plugin.registry import Register


class TracesMapper(RecordMapper):
    """Fills the traces table from the schema file's extraction plan."""

    signal = "traces"
    groups = ("resource_spans", "scope_spans", "spans")
    record_type = "opentelemetry.proto.trace.v1.Span"


@hookimpl
def register_schema_mappers(register: Register) -> None:
    register(name="traces", factory=TracesMapper, signal="traces", tables=["traces"])
