"""Self-export (``telemetry.self_telemetry = true``): every interval, the server's own metrics
become one OTLP ``ExportMetricsServiceRequest`` handed to its own pipeline, so they land in the
lake (``otel_metrics_sum``, ``_gauge``, ``_histogram``) under service ``otlp2parquet``.

Metric names stay the Prometheus names (``otlp2parquet_files_written_total``, ...), so a query of
the lake and a look at ``/metrics`` agree. Counters are cumulative monotonic sums, histograms
keep their bucket bounds; ``_created`` series are left out.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2

from otlp2parquet import __version__
from otlp2parquet.errors import Otlp2ParquetError
from otlp2parquet.telemetry.metrics import Telemetry

log = logging.getLogger(__name__)

SERVICE_NAME = "otlp2parquet"
SCOPE_NAME = "otlp2parquet.telemetry"
_UNITS = (("_seconds", "s"), ("_bytes", "By"))


def _unit(name: str) -> str:
    base = name.removesuffix("_total")
    return next((unit for suffix, unit in _UNITS if base.endswith(suffix)), "")


def _attributes(target: Any, labels: dict[str, str]) -> None:
    for key in sorted(labels):
        target.add(key=key).value.string_value = str(labels[key])


def resource_attributes() -> dict[str, str]:
    host = socket.gethostname()
    return {
        "service.name": SERVICE_NAME,
        "service.version": __version__,
        "service.instance.id": f"{host}:{os.getpid()}",
        "host.name": host,
    }


def snapshot(
    registry: Any, start_ns: int, now_ns: int | None = None
) -> ExportMetricsServiceRequest:
    """One OTLP request with every metric of a prometheus-client ``registry``."""
    now_ns = now_ns or time.time_ns()
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    _attributes(resource_metrics.resource.attributes, resource_attributes())
    scope_metrics = resource_metrics.scope_metrics.add()
    scope_metrics.scope.name = SCOPE_NAME
    scope_metrics.scope.version = __version__
    for family in registry.collect():
        samples = [s for s in family.samples if not s.name.endswith("_created")]
        if not samples:
            continue
        if family.type == "counter":
            metric = scope_metrics.metrics.add(name=f"{family.name}_total")
            metric.sum.is_monotonic = True
            metric.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
            points = metric.sum.data_points
        elif family.type == "gauge":
            metric = scope_metrics.metrics.add(name=family.name)
            points = metric.gauge.data_points
        elif family.type == "histogram":
            metric = scope_metrics.metrics.add(name=family.name)
            _histogram(metric, samples, start_ns, now_ns)
            metric.description, metric.unit = family.documentation, _unit(family.name)
            continue
        else:
            continue
        metric.description, metric.unit = family.documentation, _unit(metric.name)
        for sample in samples:
            point = points.add(start_time_unix_nano=start_ns, time_unix_nano=now_ns)
            point.as_double = float(sample.value)
            _attributes(point.attributes, sample.labels)
    return request


def _histogram(metric: Any, samples: list[Any], start_ns: int, now_ns: int) -> None:
    """Prometheus' cumulative ``le`` buckets → OTLP per-bucket counts and explicit bounds."""
    metric.histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for sample in samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}
        entry = series.setdefault(tuple(sorted(labels.items())), {"buckets": {}})
        if sample.name.endswith("_bucket"):
            entry["buckets"][float(sample.labels["le"])] = sample.value
        elif sample.name.endswith("_count"):
            entry["count"] = sample.value
        elif sample.name.endswith("_sum"):
            entry["sum"] = sample.value
    for key, entry in series.items():
        point = metric.histogram.data_points.add(
            start_time_unix_nano=start_ns, time_unix_nano=now_ns
        )
        _attributes(point.attributes, dict(key))
        point.count = int(entry.get("count", 0))
        point.sum = float(entry.get("sum", 0.0))
        previous = 0.0
        for bound in sorted(entry["buckets"]):
            cumulative = entry["buckets"][bound]
            if not math.isinf(bound):
                point.explicit_bounds.append(bound)
            point.bucket_counts.append(int(cumulative - previous))
            previous = cumulative


class SelfExporter:
    """A thread that ingests ``snapshot()`` of ``telemetry`` (by default the pipeline's) into
    ``pipeline`` every ``interval`` seconds."""

    def __init__(self, pipeline: Any, interval: float, telemetry: Telemetry | None = None) -> None:
        self.pipeline = pipeline
        self.telemetry: Telemetry = telemetry if telemetry is not None else pipeline.telemetry
        self.interval = interval
        self.start_ns = time.time_ns()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="otlp2parquet-self-telemetry", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.export_once()
            except Exception:  # a bug here must not end self-telemetry for good
                log.exception("self-telemetry export failed")

    def export_once(self) -> int:
        """Ingest one snapshot; returns the data points accepted (0 when refused)."""
        registry = self.telemetry.registry()
        if registry is None:
            return 0
        try:
            result = self.pipeline.ingest_requests("metrics", [snapshot(registry, self.start_ns)])
        except Otlp2ParquetError as exc:  # backpressure or storage down: the next one retries
            log.warning("self-telemetry export refused: %s", exc)
            return 0
        return int(result.accepted)

    def stop(self) -> None:
        """Stop the thread and export one last snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.export_once()
