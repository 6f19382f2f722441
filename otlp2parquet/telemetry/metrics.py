"""Self-telemetry: Prometheus metrics, every one named ``otlp2parquet_*``, and log fields of the
same names.

A ``Telemetry`` object holds it all; the runtime owns one (``Runtime.telemetry``) and hands it to
the pipeline, the OTLP/HTTP core, the gRPC receiver and the self-export where they are built.
Nothing is measured until ``enable()`` (the server calls it; Lambda, Cloudflare and the CLI never
do), so every recording method is a cheap no-op there and prometheus-client is imported only on
demand; without prometheus-client installed ``enable()`` returns False and everything stays a
no-op. Each object's metrics live in a registry of their own (``registry()``), not
prometheus-client's global one, so ``/metrics`` shows only ours.

Gauges that read live state (buffers, spool, catalog receipts) are computed at scrape time from
the pipeline given to ``watch``; the spool is read through ``set_spool_probe``, or else the
pipeline's ``spool`` attribute (its ``stats()["bytes"]``), else 0. Log records of these
events carry the metrics' exposition names as fields (``otlp2parquet_rows_written_total``...).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import CatalogError, NotAvailable, Otlp2ParquetError, StorageError
from otlp2parquet.http.errors import status_of

if TYPE_CHECKING:
    from otlp2parquet.types import WrittenFile

log = logging.getLogger(__name__)

PREFIX = "otlp2parquet_"
#: Seconds a count of pending catalog receipts is reused (it lists storage).
RECEIPTS_TTL = 30.0
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_FLUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_REASONS_BY_STATUS = {
    400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
    429: "backpressure", 501: "not_available", 503: "unavailable",
}  # fmt: skip


def reason_of(exc: BaseException | None) -> str:
    """A low-cardinality label for an error: ``backpressure``, ``storage_unavailable``, ...;
    the rest are named by the HTTP status that answers them (``http.errors``)."""
    if exc is None:
        return "ok"
    if type(exc).__name__ == "SpoolFull":  # the durable spool's StorageError
        return "spool_full"
    if isinstance(exc, StorageError):
        return "storage_unavailable"
    if isinstance(exc, CatalogError):
        return "catalog_unavailable"
    if not isinstance(exc, Otlp2ParquetError):
        return "error"
    return _REASONS_BY_STATUS.get(status_of(exc), "error")


#: Counters and histograms: name (without prefix and ``_total``) → (help, labels, buckets).
METRICS: dict[str, tuple[str, tuple[str, ...], tuple[float, ...] | None]] = {
    "requests": ("OTLP export requests answered", ("transport", "signal", "outcome"), None),
    "request_duration_seconds": (
        "Time to answer one OTLP export request",
        ("transport", "signal"),
        _LATENCY_BUCKETS,
    ),
    "records_received": ("Records (log records, spans, points) accepted", ("signal",), None),
    "records_rejected": ("Records refused, by signal and reason", ("signal", "reason"), None),
    "files_written": ("Parquet files written", ("table",), None),
    "bytes_written": ("Parquet bytes written", ("table",), None),
    "rows_written": ("Rows written", ("table",), None),
    "flush_duration_seconds": (
        "Time to encode and store one Parquet file",
        ("table",),
        _FLUSH_BUCKETS,
    ),
    "storage_errors": ("Failed writes to storage (the rows stay buffered)", ("table",), None),
    "catalog_files": ("Written files by catalog outcome", ("table", "outcome"), None),
}


class _Metrics:
    """The metric objects of ``METRICS``, by name; built once by ``Telemetry.enable``."""

    def __init__(self, telemetry: Telemetry) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

        disable_created_metrics()  # no ``*_created`` series next to every counter
        self.registry = CollectorRegistry()
        self.by_name: dict[str, Any] = {}
        for name, (doc, labels, buckets) in METRICS.items():
            self.by_name[name] = (
                Counter(PREFIX + name, doc, labels, registry=self.registry)
                if buckets is None
                else Histogram(PREFIX + name, doc, labels, buckets=buckets, registry=self.registry)
            )
        self.registry.register(_StateCollector(telemetry))

    def __getitem__(self, name: str) -> Any:
        return self.by_name[name]


def _dead() -> Any:
    return None


class Telemetry:
    """One runtime's self-telemetry: whether it is on, its metrics, the watched pipeline and
    the spool probe. Thread-safe."""

    def __init__(self) -> None:
        self._metrics: _Metrics | None = None
        self._lock = threading.Lock()
        self._pipeline: Callable[[], Any] = _dead
        self._spool_probe: Callable[[], float] | None = None

    def enable(self) -> bool:
        """Start measuring (idempotent); False when prometheus-client is not installed."""
        with self._lock:
            if self._metrics is None:
                try:
                    self._metrics = _Metrics(self)
                except ImportError:
                    log.warning("prometheus-client is not installed; self-telemetry is off")
                    return False
        return True

    def enabled(self) -> bool:
        return self._metrics is not None

    def registry(self) -> Any:
        """The ``CollectorRegistry`` of our metrics (None until enabled)."""
        return self._metrics.registry if self._metrics is not None else None

    def render(self) -> tuple[str, bytes]:
        """``(content_type, body)`` in the Prometheus text format; raise NotAvailable when off."""
        if self._metrics is None:
            raise NotAvailable(
                "metrics are off: install prometheus-client (pip install prometheus-client) and "
                "set telemetry.metrics_endpoint = true"
            )
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return CONTENT_TYPE_LATEST, generate_latest(self._metrics.registry)

    def watch(self, pipeline: Any) -> None:
        """Report gauges from ``pipeline`` (held weakly; the latest one wins)."""
        self._pipeline = weakref.ref(pipeline)

    def watched(self) -> Any:
        """The pipeline given to ``watch`` (None when none is, or it is gone)."""
        return self._pipeline()

    def set_spool_probe(self, probe: Callable[[], float] | None) -> None:
        """Where ``otlp2parquet_spool_bytes`` comes from (a durable spool registers itself)."""
        self._spool_probe = probe

    def observe_files(self, pm: Any) -> None:
        """Register, on plugin manager ``pm``, the per-runtime observer of each plugin that
        offers one (``telemetry_observer(telemetry)``, e.g. ``telemetry_prometheus``)."""
        for name, plugin in list(pm.list_name_plugin()):
            make = getattr(plugin, "telemetry_observer", None)
            if callable(make) and pm.get_plugin(f"{name}.telemetry") is None:
                pm.register(make(self), name=f"{name}.telemetry")

    # -- recording (no-ops until enabled) -----------------------------------------------------
    def observe_request(
        self, transport: str, signal: str, seconds: float, error: BaseException | None = None
    ) -> None:
        """One answered export request; ``error`` is what it failed with, if anything."""
        m = self._metrics
        if m is None:
            return
        m["requests"].labels(transport, signal, reason_of(error)).inc()
        m["request_duration_seconds"].labels(transport, signal).observe(seconds)

    def records_ingested(self, signal: str, accepted: int, rejected: int) -> None:
        """Records accepted by the pipeline, and those its mapper refused as invalid."""
        m = self._metrics
        if m is not None:
            m["records_received"].labels(signal).inc(accepted)
            _rejected(m, signal, "invalid", rejected)

    def records_refused(self, signal: str, count: int, error: BaseException) -> None:
        """Decoded records the pipeline could not take (backpressure, storage down)."""
        m = self._metrics
        if m is not None:
            _rejected(m, signal, reason_of(error), count)

    def flush_observed(self, table: str, seconds: float) -> None:
        m = self._metrics
        if m is not None:
            m["flush_duration_seconds"].labels(table).observe(seconds)

    def storage_error(self, table: str) -> None:
        m = self._metrics
        if m is not None:
            m["storage_errors"].labels(table).inc()
            fields = {"table": table, f"{PREFIX}storage_errors_total": 1}
            log.debug("storage write failed", extra=fields)

    def file_written(self, written: WrittenFile) -> None:
        """Count one stored file (from the ``telemetry_prometheus`` observer)."""
        m = self._metrics
        if m is None:
            return
        table = written.table
        m["files_written"].labels(table).inc()
        m["bytes_written"].labels(table).inc(written.bytes)
        m["rows_written"].labels(table).inc(written.rows)
        m["catalog_files"].labels(table, written.catalog).inc()
        log.info(
            "wrote %s (%d rows, %d bytes)",
            written.key,
            written.rows,
            written.bytes,
            extra={
                "table": table,
                "key": written.key,
                "catalog": written.catalog,
                f"{PREFIX}files_written_total": 1,
                f"{PREFIX}rows_written_total": written.rows,
                f"{PREFIX}bytes_written_total": written.bytes,
            },
        )

    # -- gauges read at scrape time -----------------------------------------------------------
    def spool_bytes(self, pipeline: Any) -> float:
        """The spool's size: the probe, else ``pipeline.spool.stats()["bytes"]``, else 0."""
        probe = self._spool_probe
        if probe is not None:
            return float(probe() or 0)
        spool = getattr(pipeline, "spool", None)
        stats = getattr(spool, "stats", None)
        return float(stats().get("bytes", 0)) if callable(stats) else 0.0


def _rejected(m: _Metrics, signal: str, reason: str, count: int) -> None:
    if not count:
        return
    m["records_rejected"].labels(signal, reason).inc(count)
    fields = {"signal": signal, "reason": reason, f"{PREFIX}records_rejected_total": count}
    log.info("%d %s record(s) rejected: %s", count, signal, reason, extra=fields)


class _ReceiptCount:
    """Pending catalog receipts, counted at most every ``RECEIPTS_TTL`` seconds."""

    def __init__(self) -> None:
        self.value = 0.0
        self.at = -RECEIPTS_TTL

    def __call__(self, catalog: Any) -> float:
        count = getattr(catalog, "pending_receipts", None)
        if count is None:
            return 0.0
        now = time.monotonic()
        if now - self.at >= RECEIPTS_TTL:
            self.at = now
            try:
                self.value = float(count())
            except Exception as exc:  # storage unreachable: keep the last count
                log.debug("cannot count pending catalog receipts: %s", exc)
        return self.value


class _StateCollector:
    """Gauges computed from ``telemetry``'s watched pipeline at each scrape."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.receipts = _ReceiptCount()

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        pipeline = self.telemetry.watched()
        batcher = getattr(pipeline, "batcher", None)
        stats: dict[str, Any] = batcher.stats() if batcher is not None else {}
        gauges = {
            "batch_buffered_rows": ("Rows buffered, not yet written", stats.get("buffered_rows")),
            "batch_buffered_bytes": ("Bytes buffered, not written", stats.get("buffered_bytes")),
            "batch_buffers": ("Open buffers (table, service, hour)", stats.get("buffers")),
            "storage_failing": ("1 while the latest write failed", stats.get("failing")),
            "spool_bytes": ("Bytes in the durable spool", self.telemetry.spool_bytes(pipeline)),
            "catalog_pending_receipts": (
                "Catalog receipts waiting for a commit",
                self.receipts(getattr(pipeline, "catalog", None)),
            ),
        }
        for name, (doc, value) in gauges.items():
            yield GaugeMetricFamily(f"{PREFIX}{name}", doc, value=float(value or 0))
        stats_obj = getattr(pipeline, "stats", None)
        yield CounterMetricFamily(
            f"{PREFIX}observer_errors",
            "on_batch_written observers that raised",
            value=float(getattr(stats_obj, "observer_errors", 0)),
        )
