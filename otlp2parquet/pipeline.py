"""Assembles the components that config names into one pipeline:

decoder → schema mapper → partitioner → batcher → Parquet writer → storage → catalog → hooks.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy
import pyarrow as pa
import pyarrow.compute as pc

from otlp2parquet.batching import Batcher
from otlp2parquet.bodies import decompress, media_type
from otlp2parquet.config import Config
from otlp2parquet.errors import CatalogError, UnsupportedMediaType
from otlp2parquet.registry import Registry
from otlp2parquet.schema import TableSchema, load_table_schema
from otlp2parquet.types import (
    SIGNALS,
    Catalog,
    Decoder,
    IngestResult,
    MappedBatch,
    Partition,
    Partitioner,
    SchemaMapper,
    StorageBackend,
    WrittenFile,
)
from otlp2parquet.writer import ParquetWriter

log = logging.getLogger(__name__)


@dataclass
class Stats:
    """Counters a platform can expose."""

    observer_errors: int = 0
    files_written: int = 0
    rows_written: int = 0
    bytes_written: int = 0


class Pipeline:
    """One configured pipeline. Thread-safe for concurrent ``ingest`` calls."""

    def __init__(self, config: Config, registry: Registry, pm: pluggy.PluginManager) -> None:
        self.config = config
        self.registry = registry
        self.pm = pm
        self.stats = Stats()
        self._lock = threading.Lock()
        self.max_payload_bytes = int(config.get("request.max_payload_bytes"))
        self.decoders = self._build_decoders()
        self.schemas: dict[str, TableSchema] = {}
        self.mappers = self._build_mappers()
        self.partitioner: Partitioner = self._create(
            "partitioner", config.get("partitioning.scheme")
        )
        self.storage: StorageBackend = self._create(
            "storage_backend", config.get("storage.backend")
        )
        self.writer = ParquetWriter(
            compression=config.get("storage.compression"),
            compression_level=config.get("storage.compression_level"),
            row_group_size=int(config.get("storage.parquet_row_group_size")),
        )
        catalog = registry.get("catalog", config.get("catalog_mode"))
        self.catalog: Catalog = catalog.factory(
            config.section(catalog.section), self.storage, self.schemas
        )
        batch = config.section("batch")
        self.batcher = Batcher(
            write=self.write_file,
            on_flushed=self.after_flush,
            enabled=batch["enabled"],
            max_rows=batch["max_rows"],
            max_bytes=batch["max_bytes"],
            max_age_secs=batch["max_age_secs"],
            max_buffered_bytes=batch["max_buffered_bytes"],
            retry_initial_secs=batch["retry_initial_secs"],
            retry_max_secs=batch["retry_max_secs"],
        )

    # -- assembly ---------------------------------------------------------------------------
    def _create(self, kind: str, name: str) -> Any:
        component = self.registry.get(kind, name)
        return component.factory(self.config.section(component.section))

    def _build_decoders(self) -> dict[str, Decoder]:
        decoders: dict[str, Decoder] = {}
        for component in self.registry.all("decoder"):
            decoder = component.factory(self.config.section(component.section))
            for mt in component.meta.get("media_types", ()):
                decoders[mt] = decoder
        return decoders

    def _build_mappers(self) -> dict[str, SchemaMapper]:
        mappers: dict[str, SchemaMapper] = {}
        for component in self.registry.all("schema_mapper"):
            signal = component.meta["signal"]
            tables = {name: load_table_schema(name) for name in component.meta["tables"]}
            self.schemas.update(tables)
            mappers[signal] = component.factory(tables)
        return mappers

    @property
    def media_types(self) -> list[str]:
        return sorted(self.decoders)

    # -- ingest -----------------------------------------------------------------------------
    def decode(
        self, signal: str, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> list[Any]:
        """Body → OTLP requests; raises UnsupportedMediaType, PayloadTooLarge, DecodeError."""
        mt = media_type(content_type)
        decoder = self.decoders.get(mt)
        if decoder is None:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {content_type!r}; use one of "
                + ", ".join(self.media_types)
            )
        data = decompress(body, content_encoding, self.max_payload_bytes)
        return decoder.decode(data, signal)

    def ingest(
        self,
        signal: str,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None = None,
    ) -> IngestResult:
        """Decode, map and hand one request to the batcher. Returns once the data is buffered
        (or written, with batching off); raises the errors of ``errors.py``."""
        return self.ingest_requests(
            signal, self.decode(signal, body, content_type, content_encoding)
        )

    def ingest_requests(self, signal: str, requests: Sequence[Any]) -> IngestResult:
        if signal not in self.mappers:
            known = ", ".join(sorted(self.mappers)) or "none"
            raise UnsupportedMediaType(f"no schema mapper for signal {signal!r}; known: {known}")
        mapped = self.mappers[signal].map(requests)
        self.ingest_mapped(mapped)
        return IngestResult(mapped.rows, mapped.rejected, list(mapped.reasons))

    def ingest_mapped(self, mapped: MappedBatch) -> None:
        parts: list[tuple[Partition, pa.Table]] = []
        for name, table in mapped.tables.items():
            if table.num_rows:
                parts.extend(self.partitioner.split(self.schemas[name], table))
        if parts:
            self.batcher.add_many(parts)

    # -- writing ----------------------------------------------------------------------------
    def write_file(self, partition: Partition, table: pa.Table) -> WrittenFile:
        """Write one partition's table as one Parquet file; raises StorageError."""
        schema = self.schemas[partition.table]
        times = table.column(schema.time_column)
        bounds = pc.min_max(times.cast(pa.int64()))
        first, last = bounds["min"].as_py() or 0, bounds["max"].as_py() or 0
        data = self.writer.to_bytes(table, schema)
        key = self.partitioner.object_key(partition, first, uuid.uuid4().hex)
        self.storage.put(key, data)
        with self._lock:
            self.stats.files_written += 1
            self.stats.rows_written += table.num_rows
            self.stats.bytes_written += len(data)
        log.debug("wrote %s (%d rows, %d bytes)", key, table.num_rows, len(data))
        return WrittenFile(
            key=key,
            url=self.storage.url(key),
            table=partition.table,
            rows=table.num_rows,
            bytes=len(data),
            partition=partition,
            min_ts_us=first,
            max_ts_us=last,
        )

    def after_flush(self, files: Sequence[WrittenFile]) -> None:
        """One flush cycle's files: one catalog commit, then the observers."""
        if not files:
            return
        try:
            self.catalog.commit(files)
        except CatalogError as exc:
            log.warning("catalog commit of %d file(s) deferred: %s", len(files), exc)
        for written in files:
            self.notify(written)

    def notify(self, written: WrittenFile) -> None:
        for impl in self.pm.hook.on_batch_written.get_hookimpls():
            try:
                impl.function(result=written)
            except Exception:  # an observer must never lose data; it is logged and counted
                with self._lock:
                    self.stats.observer_errors += 1
                log.exception("on_batch_written observer %s failed", impl.plugin_name)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.batcher.start()

    def flush(self) -> None:
        self.batcher.flush()

    def close(self) -> None:
        try:
            self.batcher.close()
        finally:
            self.catalog.close()

    def check_ready(self) -> None:
        """Raise StorageError when the store is unreachable."""
        self.storage.check()


def supported_signals(mappers: Mapping[str, Any]) -> list[str]:
    return [s for s in SIGNALS if s in mappers]
