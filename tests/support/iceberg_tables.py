"""Real Iceberg tables of our schemas, created by pyiceberg in a sqlite catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyiceberg.catalog.sql import SqlCatalog

from otlp2parquet.schema import iceberg_json
from otlp2parquet.schema.tables import load_table_schema


def iceberg_logs_table(tmp_path: Path) -> Any:
    """A pyiceberg table of the logs schema (sqlite catalog under ``tmp_path``)."""
    return _table(tmp_path)[1]


def _table(tmp_path: Path) -> tuple[SqlCatalog, Any]:
    """A real Iceberg table of the logs schema, created by pyiceberg from iceberg_json."""
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema

    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/cat.db", warehouse=f"file://{tmp_path}/wh")
    catalog.create_namespace("otlp")
    schema = load_table_schema("logs")
    ice = Schema.model_validate(iceberg_json.schema_json(schema))
    ids = {f.name: f.field_id for f in ice.fields}
    spec = PartitionSpec.model_validate(iceberg_json.partition_spec_json(schema, ids))
    table = catalog.create_table(
        ("otlp", "otel_logs"), schema=ice, partition_spec=spec, properties={"format-version": "2"}
    )
    return catalog, table
