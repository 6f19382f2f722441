"""Schema mapper for logs: ExportLogsServiceRequest → ``otel_logs`` rows, one per LogRecord."""

from __future__ import annotations

from otlp2parquet import hookimpl
from otlp2parquet.mapping.record_mapper import RecordMapper
from otlp2parquet.plugin.registry import Register


class LogsMapper(RecordMapper):
    """Fills the logs table from the schema file's extraction plan."""

    signal = "logs"
    groups = ("resource_logs", "scope_logs", "log_records")
    record_type = "opentelemetry.proto.logs.v1.LogRecord"


@hookimpl
def register_schema_mappers(register: Register) -> None:
    register(name="logs", factory=LogsMapper, signal="logs", tables=["logs"])
