"""The key-value metadata written in every Parquet file's footer, by either writer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otlp2parquet import __version__

if TYPE_CHECKING:
    from otlp2parquet.schema.tables import TableSchema

META_VERSION = "otlp2parquet.version"
META_SCHEMA_VERSION = "otlp2parquet.schema_version"
META_TABLE = "otlp2parquet.table"
META_SCHEMA = "otlp2parquet.schema"


def footer_metadata(schema: TableSchema) -> dict[str, str]:
    """otlp2parquet's footer keys for a file of ``schema``'s table."""
    return {
        META_VERSION: __version__,
        META_SCHEMA_VERSION: str(schema.version),
        META_TABLE: schema.table,
        META_SCHEMA: schema.name,
    }
