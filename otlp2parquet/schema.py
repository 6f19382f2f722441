"""Table schemas as data: ``schemas/<name>.toml`` → Arrow schema, extraction plan, exports.

(Skeleton: the loader and exports are being filled in by the signals work; the dataclass
fields below are the contract other modules rely on.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One declared column."""

    name: str
    arrow: str  # e.g. "timestamp[us, tz=UTC]", "map<string, string>"
    clickhouse: str  # e.g. "DateTime64(9)"
    nullable: bool
    source: str  # field path in the OTLP message, or "extractor:<name>"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSchema:
    """One target table, e.g. ``logs`` → ``otel_logs``."""

    name: str  # schema file stem: logs, traces, metrics_gauge, ...
    table: str  # ClickHouse / Iceberg table name: otel_logs, ...
    signal: str  # logs | traces | metrics
    path: str  # layout segment: logs, traces, metrics/gauge, ...
    version: int
    time_column: str  # Timestamp (logs, traces) or TimeUnix (metrics)
    service_column: str
    columns: tuple[Column, ...]
    arrow_schema: pa.Schema
    clickhouse: dict[str, Any] = field(default_factory=dict)  # engine, order_by, partition_by


def load_table_schema(name: str) -> TableSchema:
    raise NotImplementedError("schemas are being implemented")
