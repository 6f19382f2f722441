"""The pyarrow-free mappers of each signal, built from the schema files."""

from __future__ import annotations

from typing import Any

from otlp2parquet.engine.lite.mapping import LiteRecordMapper
from otlp2parquet.engine.lite.metrics import LiteMetricsMapper
from otlp2parquet.schema.tables import load_table_schema


def lite_mapper(signal: str) -> Any:
    tables = {
        "logs": ["logs"],
        "traces": ["traces"],
        "metrics": [f"metrics_{k}" for k in ("gauge", "sum", "histogram")]
        + [f"metrics_{k}" for k in ("exponential_histogram", "summary")],
    }[signal]
    schemas = {name: load_table_schema(name) for name in tables}
    if signal == "metrics":
        return LiteMetricsMapper(schemas)
    return LiteRecordMapper(signal, schemas)
