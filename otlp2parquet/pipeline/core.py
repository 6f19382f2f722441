"""The one pipeline, whatever the table engine:

decoder → schema mapper → partitioner → batcher → Parquet writer → storage → catalog → hooks.

The table engine (``engine/``: pyarrow, or pure Python for the Worker) supplies what differs:
the mappers' form, splitting, sizes, concatenation, time bounds and the Parquet bytes; every
call to it is per table. The server, gRPC, Lambda, ``convert``, the Worker (and its Durable
Object) and the spool's replay all go through this class.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pluggy

from otlp2parquet.config.layers import Config
from otlp2parquet.durability.none import NO_DURABILITY
from otlp2parquet.engine import TableEngine, make_engine
from otlp2parquet.errors import (
    CatalogError,
    ConfigError,
    Otlp2ParquetError,
    StorageError,
    UnsupportedMediaType,
)
from otlp2parquet.http.bodies import decompress, media_type
from otlp2parquet.mapping.wire.protoview import Parsed
from otlp2parquet.pipeline.batcher import Batcher
from otlp2parquet.pipeline.limits import RecordLimit
from otlp2parquet.plugin.registry import Registry
from otlp2parquet.schema.tables import TableSchema, load_table_schema
from otlp2parquet.telemetry.metrics import Telemetry
from otlp2parquet.types import (
    SIGNALS,
    Catalog,
    Decoder,
    Durability,
    IngestResult,
    MappedBatch,
    Partition,
    Partitioner,
    SchemaMapper,
    StorageBackend,
    WrittenFile,
)

if TYPE_CHECKING:
    from otlp2parquet.durability.spool import Spool

log = logging.getLogger(__name__)


@dataclass
class Stats:
    """Counters a platform can expose."""

    observer_errors: int = 0
    files_written: int = 0
    rows_written: int = 0
    bytes_written: int = 0


class Pipeline:
    """One configured pipeline over one table engine (pyarrow when none is handed in).
    Thread-safe for concurrent ``ingest`` calls."""

    def __init__(
        self,
        config: Config,
        registry: Registry,
        pm: pluggy.PluginManager,
        telemetry: Telemetry | None = None,
        durability: Durability = NO_DURABILITY,
        engine: TableEngine | None = None,
    ) -> None:
        self.config = config
        self.engine = engine if engine is not None else make_engine("pyarrow", config)
        self.registry = registry
        self.pm = pm
        self.telemetry = telemetry if telemetry is not None else Telemetry()
        self.stats = Stats()
        self._lock = threading.Lock()
        #: The server's spool (``Runtime.pipeline(durable=True)``), or ``NoDurability``.
        self.durability = durability
        self.max_payload_bytes = int(config.get("request.max_payload_bytes"))
        self.record_limit = RecordLimit(int(config.get("request.max_records")))
        self.decoders = self._build_decoders()
        self.schemas: dict[str, TableSchema] = {}
        self.mappers = self._build_mappers()
        scheme = config.get("partitioning.scheme")
        self.partitioner: Partitioner = self._create("partitioner", scheme)
        self._split = self.engine.splitter(self.partitioner, str(scheme))
        self.storage: StorageBackend = self._create(
            "storage_backend", config.get("storage.backend")
        )
        catalog = registry.get("catalog", config.get("catalog_mode"))
        self.catalog: Catalog = catalog.factory(
            config.section(catalog.section), self.storage, self.schemas
        )
        batch = config.section("batch")
        self.batcher = Batcher(
            write=self.write_file,
            on_flushed=self.after_flush,
            engine=self.engine,
            enabled=batch["enabled"],
            max_rows=batch["max_rows"],
            max_bytes=batch["max_bytes"],
            max_age_secs=batch["max_age_secs"],
            max_buffered_bytes=batch["max_buffered_bytes"],
            retry_initial_secs=batch["retry_initial_secs"],
            retry_max_secs=batch["retry_max_secs"],
            token=self._file_token,
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
            mappers[signal] = self.engine.mapper(component, tables)
        return mappers

    @property
    def media_types(self) -> list[str]:
        return sorted(self.decoders)

    # -- ingest -----------------------------------------------------------------------------
    def decode(
        self, signal: str, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> list[Any]:
        """Body → OTLP requests; raises UnsupportedMediaType, PayloadTooLarge, DecodeError."""
        return self._decode(signal, body, content_type, content_encoding)[0]

    def _decode(
        self, signal: str, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> tuple[list[Any], bytes]:
        mt = media_type(content_type)
        decoder = self.decoders.get(mt)
        if decoder is None:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {content_type!r}; use one of "
                + ", ".join(self.media_types)
            )
        data = decompress(body, content_encoding, self.max_payload_bytes)
        return self.record_limit.decode(decoder, data, signal), data

    def ingest(
        self,
        signal: str,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None = None,
    ) -> IngestResult:
        """Decode, map and hand one request to the batcher. Returns once the data is buffered
        (or written, with batching off; and spooled, with a spool); raises the errors of
        ``errors.py``."""
        requests, data = self._decode(signal, body, content_type, content_encoding)
        reads_bodies = getattr(self.mappers.get(signal), "reads_bodies", False)
        if reads_bodies and isinstance(requests, Parsed):
            requests = requests.released()  # the mapper reads the body; the parse can go
        return self.ingest_requests(signal, requests, raw=(media_type(content_type), data))

    def ingest_requests(
        self, signal: str, requests: Sequence[Any], raw: tuple[str, bytes] | None = None
    ) -> IngestResult:
        """Map decoded requests and buffer them. With a spool, ``raw`` (media type, body) is
        what gets spooled; without it, a single protobuf request is spooled re-serialized."""
        mapped = self.map(signal, requests)
        try:
            spooled = _raw(signal, requests, raw) if self.durability.enabled else None
            self.ingest_mapped(mapped, spooled)
        except Otlp2ParquetError as exc:
            self.telemetry.records_refused(signal, mapped.rows, exc)
            raise
        self.telemetry.records_ingested(signal, mapped.rows, mapped.rejected)
        return IngestResult(mapped.rows, mapped.rejected, list(mapped.reasons))

    def map(self, signal: str, requests: Sequence[Any]) -> MappedBatch:
        """Decoded requests → the signal's tables (UnsupportedMediaType: no mapper for it)."""
        mapper = self.mappers.get(signal)
        if mapper is None:
            known = ", ".join(sorted(self.mappers)) or "none"
            raise UnsupportedMediaType(f"no schema mapper for signal {signal!r}; known: {known}")
        return mapper.map(requests)

    def split(self, mapped: MappedBatch) -> list[tuple[Partition, Any]]:
        """Mapped tables → one part per partition (empty tables have none)."""
        return [part for part, _ in self._sized_parts(mapped)]

    def _sized_parts(self, mapped: MappedBatch) -> list[tuple[tuple[Partition, Any], int]]:
        """``split`` with each part's share of its table's ``engine.nbytes`` (by rows): one
        size per table, not per part, which costs as much as the split itself."""
        parts: list[tuple[tuple[Partition, Any], int]] = []
        for name, table in mapped.tables.items():
            if not table.num_rows:
                continue
            size, rows = self.engine.nbytes(table), table.num_rows
            for part in self._split(self.schemas[name], table):
                parts.append((part, -(-size * part[1].num_rows // rows)))
        return parts

    def rebuild(self, signal: str, media_type: str, body: bytes) -> list[tuple[Partition, Any]]:
        """A spooled request's parts, exactly as ``ingest`` made them (the spool's replay);
        ConfigError when its decoder or mapper is no longer loaded."""
        decoder = self.decoders.get(media_type)
        if decoder is None or signal not in self.mappers:
            raise ConfigError(
                f"no decoder for {media_type!r} or no mapper for {signal!r} is loaded"
            )
        return self.split(self.map(signal, decoder.decode(body, signal)))

    def ingest_mapped(self, mapped: MappedBatch, raw: tuple[str, str, bytes] | None = None) -> None:
        """Partition and buffer; with a spool and ``raw`` (signal, media type, body), the
        request is durable in the spool before this returns (SpoolFull when it is full)."""
        sized = self._sized_parts(mapped)
        if not sized:
            return
        parts, sizes = [part for part, _ in sized], [size for _, size in sized]
        if raw is None or not self.durability.enabled:
            self.batcher.add_many(parts, sizes=sizes)
            return
        self.batcher.check_room(sum(sizes))
        sid = self.durability.append(*raw, parts=len(parts), retry_after=self.batcher.retry_after())
        self.batcher.add_many(parts, sources=(sid,), check=False, sizes=sizes)

    # -- writing ----------------------------------------------------------------------------
    def write_file(
        self,
        partition: Partition,
        table: Any,
        token: str | None = None,
        sources: tuple[int, ...] = (),
    ) -> WrittenFile:
        """Write one partition's table as one Parquet file named with ``token`` (random when
        None); rows from the spool (``sources``) are announced to it first. Raises
        StorageError."""
        started = time.monotonic()
        schema = self.schemas[partition.table]
        first, last = self.engine.time_bounds(table, schema)
        data = self.engine.to_parquet(table, schema)
        token = token or uuid.uuid4().hex
        key = self.durability.key_for(token) or self.partitioner.object_key(partition, first, token)
        if sources:
            self.durability.intent(token, key, partition, sources)
        try:
            self.storage.put(key, data)
        except StorageError:
            self.telemetry.storage_error(partition.table)
            raise
        self.telemetry.flush_observed(partition.table, time.monotonic() - started)
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
        self.durability.complete(f.key for f in files)  # stored and committed: let go

    def _file_token(self, partition: Partition, sources: tuple[int, ...]) -> str:
        """Spooled rows get a token derived from their partition and sources (a replay
        rebuilds the same file under the same key); others a random one."""
        return self.durability.token(partition, sources) if sources else uuid.uuid4().hex

    def notify(self, written: WrittenFile) -> None:
        for impl in self.pm.hook.on_batch_written.get_hookimpls():
            try:
                impl.function(result=written)
            except Exception:  # an observer must never lose data; it is logged and counted
                with self._lock:
                    self.stats.observer_errors += 1
                log.exception("on_batch_written observer %s failed", impl.plugin_name)

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def spool(self) -> Spool | None:
        """The durable spool, or None when the pipeline has none."""
        return cast("Spool", self.durability) if self.durability.enabled else None

    def start(self) -> None:
        """Start the batcher's flush thread, and remove (in the background) the temp files
        that writes killed mid-way left in the table directories."""
        self.batcher.start()
        remove = getattr(self.storage, "remove_stale_temps", None)
        if remove is not None:
            threading.Thread(
                target=self._remove_stale_temps, args=(remove,), name="stale-temps", daemon=True
            ).start()

    def _remove_stale_temps(self, remove: Callable[[list[str]], list[str]]) -> None:
        try:
            removed = remove(sorted(self.schemas))
        except OSError as exc:
            log.warning("could not look for temp files left by killed writes: %s", exc)
            return
        if removed:
            log.info("removed %d temp file(s) left by writes killed mid-way", len(removed))

    def flush(self) -> list[WrittenFile]:
        """Write everything buffered now; returns the files this flush wrote (StorageError
        when some could not be written: their rows stay buffered)."""
        return self.batcher.flush()

    def close(self) -> None:
        try:
            # With a spool, unwritten rows are safe on disk: one attempt, no long retries.
            self.batcher.close(timeout=0.0 if self.durability.enabled else None)
        finally:
            self.catalog.close()
            self.durability.close()

    def check_ready(self) -> None:
        """Raise StorageError when the store is unreachable."""
        self.storage.check()


def _raw(
    signal: str, requests: Sequence[Any], raw: tuple[str, bytes] | None
) -> tuple[str, str, bytes] | None:
    """What to spool for a request: its body as received, or one protobuf re-serialized."""
    if raw is not None:
        return (signal, *raw)
    if len(requests) == 1 and hasattr(requests[0], "SerializeToString"):
        return (signal, "application/x-protobuf", requests[0].SerializeToString())
    log.debug("%d %s request(s) without a body to spool: buffered only", len(requests), signal)
    return None


def supported_signals(mappers: Mapping[str, Any]) -> list[str]:
    return [s for s in SIGNALS if s in mappers]
