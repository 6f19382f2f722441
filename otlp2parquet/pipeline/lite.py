"""The pipeline without pyarrow: decoder → lite mapper → partitioner → lite Parquet writer →
storage → catalog → ``on_batch_written``, for runtimes where pyarrow cannot be installed (the
Cloudflare Worker). It offers what the Worker calls on ``pipeline.Pipeline`` (``decode``,
``ingest``, ``flush``, ``mappers``, ``storage``, ...); with ``batch.enabled`` it buffers until
``flush`` (the ``OtlpBatcher`` Durable Object flushes), otherwise each request is written at once.
``parquet.engine`` chooses between the two pipelines (``choose_engine``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import pluggy

from otlp2parquet.config.layers import Config
from otlp2parquet.engine.lite.mapping import LiteRecordMapper, LiteTable
from otlp2parquet.engine.lite.metrics import LiteMetricsMapper
from otlp2parquet.engine.lite.parquet_writer import LiteParquetWriter
from otlp2parquet.errors import (
    CatalogError,
    ConfigError,
    Otlp2ParquetError,
    StorageError,
    UnsupportedMediaType,
)
from otlp2parquet.http.bodies import decompress, media_type
from otlp2parquet.pipeline.limits import RecordLimit
from otlp2parquet.plugin.registry import Registry
from otlp2parquet.schema.tables import TableSchema, load_table_schema
from otlp2parquet.telemetry.metrics import Telemetry
from otlp2parquet.types import Catalog, Decoder, IngestResult, Partition, WrittenFile

log = logging.getLogger(__name__)

ENGINES = ("auto", "pyarrow", "lite")
#: the built-in schema mappers that have a pyarrow-free form
LITE_SIGNALS = ("logs", "traces", "metrics")


def pyarrow_available() -> bool:
    """Whether the pyarrow path can run here (pyarrow and numpy importable)."""
    try:
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def choose_engine(config: Config) -> str:
    """``parquet.engine`` resolved: ``pyarrow`` or ``lite`` (``auto``: pyarrow when it can be
    imported)."""
    engine = str(config.get("parquet.engine") or "auto")
    if engine not in ENGINES:
        raise ConfigError(f"parquet.engine {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "auto":
        engine = "pyarrow" if pyarrow_available() else "lite"
    return engine


class LitePipeline:
    """One configured pyarrow-free pipeline (single-threaded, as a Worker isolate is)."""

    def __init__(
        self,
        config: Config,
        registry: Registry,
        pm: pluggy.PluginManager,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.pm = pm
        self.telemetry = telemetry if telemetry is not None else Telemetry()
        self.max_payload_bytes = int(config.get("request.max_payload_bytes"))
        self.record_limit = RecordLimit(int(config.get("request.max_records")))
        self.decoders: dict[str, Decoder] = {}
        for component in registry.all("decoder"):
            decoder = component.factory(config.section(component.section))
            for mt in component.meta.get("media_types", ()):
                self.decoders[mt] = decoder
        self.schemas: dict[str, TableSchema] = {}
        self.mappers: dict[str, Any] = {}
        for component in registry.all("schema_mapper"):
            signal = component.meta["signal"]
            if component.name != signal or signal not in LITE_SIGNALS:
                raise ConfigError(
                    f"schema mapper {component.name!r} ({component.plugin}) has no pyarrow-free "
                    'form; disable it or set parquet.engine = "pyarrow"'
                )
            tables = {name: load_table_schema(name) for name in component.meta["tables"]}
            self.schemas.update(tables)
            lite = LiteMetricsMapper(tables) if signal == "metrics" else None
            self.mappers[signal] = lite or LiteRecordMapper(signal, tables)
        self.partitioner = self._create("partitioner", config.get("partitioning.scheme"))
        if not hasattr(self.partitioner, "split_rows"):
            raise ConfigError(
                f"partitioning.scheme {config.get('partitioning.scheme')!r} cannot split "
                'plain rows (no split_rows); set parquet.engine = "pyarrow"'
            )
        self.storage = self._create("storage_backend", config.get("storage.backend"))
        compression = str(config.get("storage.compression"))
        if compression not in ("gzip", "none"):
            log.info("the lite Parquet writer has no %s codec: writing gzip", compression)
            compression = "gzip"
        self.writer = LiteParquetWriter(
            compression=compression,
            compression_level=config.get("storage.compression_level"),
            row_group_size=int(config.get("storage.parquet_row_group_size")),
        )
        catalog = registry.get("catalog", config.get("catalog_mode"))
        self.catalog: Catalog = catalog.factory(
            config.section(catalog.section), self.storage, self.schemas
        )
        self.batching = bool(config.get("batch.enabled"))
        self._buffer: dict[tuple[str, str, int], tuple[Partition, list[LiteTable]]] = {}

    def _create(self, kind: str, name: str) -> Any:
        component = self.registry.get(kind, name)
        return component.factory(self.config.section(component.section))

    @property
    def media_types(self) -> list[str]:
        return sorted(self.decoders)

    def decode(
        self, signal: str, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> list[Any]:
        """Body → OTLP requests; raises UnsupportedMediaType, PayloadTooLarge, DecodeError."""
        decoder = self.decoders.get(media_type(content_type))
        if decoder is None:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {content_type!r}; use one of "
                + ", ".join(self.media_types)
            )
        data = decompress(body, content_encoding, self.max_payload_bytes)
        return self.record_limit.decode(decoder, data, signal)

    def ingest(
        self,
        signal: str,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None = None,
    ) -> IngestResult:
        """Decode, map, and write (or buffer, with batching) one request."""
        requests = self.decode(signal, body, content_type, content_encoding)
        mapper = self.mappers.get(signal)
        if mapper is None:
            known = ", ".join(sorted(self.mappers)) or "none"
            raise UnsupportedMediaType(f"no schema mapper for signal {signal!r}; known: {known}")
        mapped = mapper.map(requests)
        parts: list[tuple[Partition, LiteTable]] = []
        for name, table in mapped.tables.items():
            schema = self.schemas[name]
            services = table.column(schema.service_column)
            times = table.column(schema.time_column)
            for partition, rows in self.partitioner.split_rows(schema, services, times):
                whole = len(rows) == table.num_rows
                parts.append((partition, table if whole else table.take(rows)))
        try:
            if self.batching:
                for partition, table in parts:
                    self._buffer.setdefault(partition.key, (partition, []))[1].append(table)
            else:
                self._write_all(parts)
        except Otlp2ParquetError as exc:
            self.telemetry.records_refused(signal, mapped.rows, exc)
            raise
        self.telemetry.records_ingested(signal, mapped.rows, mapped.rejected)
        return IngestResult(mapped.rows, mapped.rejected, list(mapped.reasons))

    def write_file(self, partition: Partition, table: LiteTable) -> WrittenFile:
        """One partition's rows as one Parquet file; raises StorageError."""
        started = time.monotonic()
        schema = self.schemas[partition.table]
        times = table.column(schema.time_column)
        first, last = min(times), max(times)
        data = self.writer.to_bytes(table, schema)
        key = self.partitioner.object_key(partition, first, uuid.uuid4().hex)
        try:
            self.storage.put(key, data)
        except StorageError:
            self.telemetry.storage_error(partition.table)
            raise
        self.telemetry.flush_observed(partition.table, time.monotonic() - started)
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

    def flush(self) -> list[WrittenFile]:
        """Write every buffered partition as one file and return the files written; rows stay
        buffered if a write fails."""
        parts = []
        for partition, tables in self._buffer.values():
            parts.append((partition, tables[0] if len(tables) == 1 else LiteTable.concat(tables)))
        written = self._write_all(parts)
        self._buffer.clear()
        return written

    def _write_all(self, parts: Sequence[tuple[Partition, LiteTable]]) -> list[WrittenFile]:
        """Write each part; the files written before a failure still reach the catalog and
        the observers (a retry may write those rows again: at least once)."""
        written: list[WrittenFile] = []
        try:
            for partition, table in parts:
                written.append(self.write_file(partition, table))
        finally:
            self.after_flush(written)
        return written

    def after_flush(self, files: Sequence[WrittenFile]) -> None:
        """Written files: one catalog commit, then the ``on_batch_written`` observers."""
        if not files:
            return
        try:
            self.catalog.commit(files)
        except CatalogError as exc:
            log.warning("catalog commit of %d file(s) deferred: %s", len(files), exc)
        for written in files:
            for impl in self.pm.hook.on_batch_written.get_hookimpls():
                try:
                    impl.function(result=written)
                except Exception:  # an observer must never lose data; it is logged
                    log.exception("on_batch_written observer %s failed", impl.plugin_name)

    def check_ready(self) -> None:
        """Raise StorageError when the store is unreachable."""
        self.storage.check()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.catalog.close()
