"""Arrow table → one Parquet file in memory, ready for a single atomic ``StorageBackend.put``.

Files are built whole in memory (a batch is bounded by ``batch.max_bytes``), so a store only ever
receives complete files: no partial object is visible, whatever the backend.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from otlp2parquet.engine.filemeta import footer_metadata
from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import TableSchema

COMPRESSIONS = ("zstd", "snappy", "gzip", "none")
#: Codecs that take a level; pyarrow rejects a level for the others.
_LEVELLED = ("zstd", "gzip")


class ParquetWriter:
    """Parquet with dictionary encoding, column statistics, a page index and footer metadata."""

    def __init__(
        self,
        compression: str = "zstd",
        compression_level: int | None = None,
        row_group_size: int = 32768,
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ConfigError(
                f"storage.compression {compression!r} is not supported; use one of "
                + ", ".join(COMPRESSIONS)
            )
        if row_group_size < 1:
            raise ConfigError("storage.parquet_row_group_size must be at least 1")
        self.compression = compression
        self.compression_level = compression_level if compression in _LEVELLED else None
        self.row_group_size = row_group_size

    def to_bytes(self, table: pa.Table, schema: TableSchema) -> bytes:
        """The whole file for ``table``, cast to ``schema``'s Arrow schema when it differs."""
        target = schema.arrow_schema
        if not table.schema.equals(target, check_metadata=False):
            table = table.select(target.names).cast(target)
        metadata = dict(target.metadata or {})
        # otlp2parquet's footer keys (``filemeta``, shared with the lite writer)
        metadata.update({k.encode(): v.encode() for k, v in footer_metadata(schema).items()})
        table = table.replace_schema_metadata(metadata)
        sink = pa.BufferOutputStream()
        pq.write_table(
            table,
            sink,
            compression=None if self.compression == "none" else self.compression,
            compression_level=self.compression_level,
            row_group_size=self.row_group_size,
            use_dictionary=True,
            write_statistics=True,
            write_page_index=True,
        )
        return sink.getvalue().to_pybytes()
