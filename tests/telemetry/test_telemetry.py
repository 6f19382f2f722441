"""Self-telemetry: what the pipeline, the OTLP/HTTP core and the ``on_batch_written`` plugin
count, the gauges read at scrape time (buffers, spool, catalog receipts), ``GET /metrics``,
log fields named like the metrics, the no-op fallback, and the self-export into the lake."""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import falcon.testing
import pyarrow.parquet as pq
import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.durability import receipts
from otlp2parquet.durability.none import NO_DURABILITY
from otlp2parquet.errors import (
    Backpressure,
    ConfigError,
    DecodeError,
    NotAvailable,
    StorageError,
)
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.plugins.catalog_iceberg import make_iceberg
from otlp2parquet.plugins.platform_server.app import create_app
from otlp2parquet.plugins.platform_server.companions import Companions
from otlp2parquet.plugins.storage_fsspec import make_fs
from otlp2parquet.schema.tables import load_table_schema
from otlp2parquet.telemetry.metrics import Telemetry, _StateCollector, reason_of
from otlp2parquet.telemetry.self_export import SelfExporter, snapshot
from support.server_fakes import FakePipeline, make_client, make_handler, post
from support.settings import settings_layer
from support.signal_samples import example

JSON = "application/json"


@pytest.fixture(autouse=True)
def metrics_on(telemetry: Telemetry) -> None:
    assert telemetry.enable()


def value(telemetry: Telemetry, name: str, **labels: str) -> float:
    return telemetry.registry().get_sample_value(name, labels) or 0.0


def make_pipeline(tmp_path: Path, telemetry: Telemetry, **settings: Any) -> Pipeline:
    cli = {
        "storage.backend": ("memory", "test"),
        "storage.memory.path": (f"/telemetry-{uuid.uuid4().hex}", "test"),
        "batch.enabled": (False, "test"),
    }
    cli.update(settings_layer(settings))
    pipeline = bootstrap(None, cli, env={}, cwd=tmp_path, telemetry=telemetry).pipeline()
    telemetry.watch(pipeline)
    return pipeline


def test_reasons_are_low_cardinality_labels() -> None:
    assert reason_of(None) == "ok"
    assert reason_of(DecodeError("x at byte 3")) == "invalid"
    assert reason_of(Backpressure("full")) == "backpressure"
    assert reason_of(StorageError("down")) == "storage_unavailable"
    assert reason_of(RuntimeError("bug")) == "error"


def test_ingest_counts_records_files_bytes_and_flush_latency(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, telemetry: Telemetry
) -> None:
    before = {
        "received": value(telemetry, "otlp2parquet_records_received_total", signal="logs"),
        "files": value(telemetry, "otlp2parquet_files_written_total", table="logs"),
        "rows": value(telemetry, "otlp2parquet_rows_written_total", table="logs"),
        "bytes": value(telemetry, "otlp2parquet_bytes_written_total", table="logs"),
        "flushes": value(telemetry, "otlp2parquet_flush_duration_seconds_count", table="logs"),
        "none": value(telemetry, "otlp2parquet_catalog_files_total", table="logs", outcome="none"),
    }
    pipeline = make_pipeline(tmp_path, telemetry)
    with caplog.at_level(logging.INFO, logger="otlp2parquet.telemetry"):
        result = pipeline.ingest("logs", example("logs.json"), JSON)
    assert result.accepted == 1
    assert (
        value(telemetry, "otlp2parquet_records_received_total", signal="logs")
        == before["received"] + 1
    )
    assert value(telemetry, "otlp2parquet_files_written_total", table="logs") == before["files"] + 1
    assert value(telemetry, "otlp2parquet_rows_written_total", table="logs") == before["rows"] + 1
    (key,) = pipeline.storage.list()
    size = len(pipeline.storage.get(key))
    assert (
        value(telemetry, "otlp2parquet_bytes_written_total", table="logs") == before["bytes"] + size
    )
    assert (
        value(telemetry, "otlp2parquet_flush_duration_seconds_count", table="logs")
        == before["flushes"] + 1
    )
    assert value(telemetry, "otlp2parquet_catalog_files_total", table="logs", outcome="none") == (
        before["none"] + 1
    )
    (record,) = [r for r in caplog.records if r.getMessage().startswith("wrote ")]
    assert record.otlp2parquet_rows_written_total == 1  # type: ignore[attr-defined]
    assert record.otlp2parquet_bytes_written_total == size  # type: ignore[attr-defined]


def test_rejections_are_counted_by_reason(tmp_path: Path, telemetry: Telemetry) -> None:
    pipeline = make_pipeline(tmp_path, telemetry)
    empty_metric = b'{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m"}]}]}]}'
    invalid = value(
        telemetry, "otlp2parquet_records_rejected_total", signal="metrics", reason="invalid"
    )
    assert pipeline.ingest("metrics", empty_metric, JSON).rejected == 1
    assert value(
        telemetry, "otlp2parquet_records_rejected_total", signal="metrics", reason="invalid"
    ) == (invalid + 1)

    def full(*args: Any, **kwargs: Any) -> None:
        raise Backpressure("buffers full")

    pipeline.ingest_mapped = full  # type: ignore[method-assign]
    refused = value(
        telemetry, "otlp2parquet_records_rejected_total", signal="traces", reason="backpressure"
    )
    with pytest.raises(Backpressure):
        pipeline.ingest("traces", example("trace.json"), JSON)
    assert value(
        telemetry, "otlp2parquet_records_rejected_total", signal="traces", reason="backpressure"
    ) == (refused + 1)


def test_storage_errors_are_counted(tmp_path: Path, telemetry: Telemetry) -> None:
    pipeline = make_pipeline(tmp_path, telemetry)

    def broken(key: str, data: bytes) -> None:
        raise StorageError("bucket unreachable")

    pipeline.storage.put = broken  # type: ignore[method-assign]
    errors = value(telemetry, "otlp2parquet_storage_errors_total", table="logs")
    down = value(
        telemetry,
        "otlp2parquet_records_rejected_total",
        signal="logs",
        reason="storage_unavailable",
    )
    with pytest.raises(StorageError):
        pipeline.ingest("logs", example("logs.json"), JSON)
    assert value(telemetry, "otlp2parquet_storage_errors_total", table="logs") == errors + 1
    assert value(
        telemetry,
        "otlp2parquet_records_rejected_total",
        signal="logs",
        reason="storage_unavailable",
    ) == (down + 1)


class FakeSpool:
    enabled = True

    def stats(self) -> dict[str, int]:
        return {"segments": 2, "bytes": 4096}


def test_gauges_read_buffers_spool_and_catalog_receipts(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    pipeline = make_pipeline(tmp_path, telemetry, batch__enabled=True)
    pipeline.ingest("logs", example("logs.json"), JSON)
    assert value(telemetry, "otlp2parquet_batch_buffered_rows") == 1
    assert value(telemetry, "otlp2parquet_batch_buffered_bytes") > 0
    assert value(telemetry, "otlp2parquet_spool_bytes") == 0
    pipeline.durability = FakeSpool()  # type: ignore[assignment]
    assert value(telemetry, "otlp2parquet_spool_bytes") == 4096
    telemetry.set_spool_probe(lambda: 7)
    try:
        assert value(telemetry, "otlp2parquet_spool_bytes") == 7
    finally:
        telemetry.set_spool_probe(None)
    pipeline.durability = NO_DURABILITY
    pipeline.close()
    assert value(telemetry, "otlp2parquet_batch_buffered_rows") == 0


def test_pending_catalog_receipts_gauge(tmp_path: Path, telemetry: Telemetry) -> None:
    storage = make_fs({"path": str(tmp_path / "data")})
    catalog = make_iceberg({"namespace": "otlp"}, storage, {"logs": load_table_schema("logs")})
    prefix = catalog.settings.receipt_prefix
    receipts.create(storage, "logs", [], prefix)
    receipts.create(storage, "logs", [], prefix)
    assert catalog.pending_receipts() == 2
    pipeline = make_pipeline(tmp_path, telemetry)
    pipeline.catalog = catalog
    collector = _StateCollector(telemetry)  # a fresh one: no cached count from other tests
    (gauge,) = [m for m in collector.collect() if m.name.endswith("catalog_pending_receipts")]
    assert gauge.samples[0].value == 2


def test_metrics_endpoint_and_http_request_counts(telemetry: Telemetry) -> None:
    pipeline = FakePipeline()
    client = make_client(pipeline, telemetry=telemetry)
    pipeline.error = DecodeError("bad json")
    invalid = value(
        telemetry, "otlp2parquet_requests_total", transport="http", signal="logs", outcome="invalid"
    )
    assert post(client, "/v1/logs").status_code == 400
    assert value(
        telemetry, "otlp2parquet_requests_total", transport="http", signal="logs", outcome="invalid"
    ) == (invalid + 1)
    result = client.simulate_get("/metrics")
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/plain")
    names = [line.split()[2] for line in result.text.splitlines() if line.startswith("# TYPE")]
    assert names and all(n.startswith("otlp2parquet_") for n in names)
    assert "otlp2parquet_request_duration_seconds" in names
    assert client.simulate_post("/metrics").status_code == 405
    off = falcon.testing.TestClient(create_app(make_handler(pipeline), metrics=False))
    assert off.simulate_get("/metrics").status_code == 404


def test_without_prometheus_client_everything_is_a_no_op(
    monkeypatch: pytest.MonkeyPatch, telemetry: Telemetry
) -> None:
    monkeypatch.setattr(telemetry, "_metrics", None)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    assert not telemetry.enable()
    telemetry.observe_request("http", "logs", 0.1, None)
    telemetry.records_ingested("logs", 3, 1)
    with pytest.raises(NotAvailable):
        telemetry.render()


def test_snapshot_converts_counters_gauges_and_histograms(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    registry = CollectorRegistry()
    Counter("otlp2parquet_things", "t", ["kind"], registry=registry).labels("a").inc(3)
    Gauge("otlp2parquet_level_bytes", "g", registry=registry).set(9)
    hist = Histogram("otlp2parquet_wait_seconds", "h", buckets=(0.1, 1.0), registry=registry)
    for seconds in (0.05, 0.5, 0.7, 5):
        hist.observe(seconds)
    request = snapshot(registry, start_ns=1, now_ns=2)
    metrics = {m.name: m for m in request.resource_metrics[0].scope_metrics[0].metrics}
    counter = metrics["otlp2parquet_things_total"]
    assert counter.sum.is_monotonic and counter.sum.data_points[0].as_double == 3
    assert metrics["otlp2parquet_level_bytes"].unit == "By"
    point = metrics["otlp2parquet_wait_seconds"].histogram.data_points[0]
    assert list(point.explicit_bounds) == [0.1, 1.0]
    assert list(point.bucket_counts) == [1, 2, 1] and point.count == 4


def test_self_export_writes_the_servers_metrics_into_the_lake(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    pipeline = make_pipeline(tmp_path, telemetry)
    pipeline.ingest("logs", example("logs.json"), JSON)
    exporter = SelfExporter(pipeline, interval=60)
    assert exporter.export_once() > 0
    keys = pipeline.storage.list("metrics/")
    tables = {key.split("/")[1] for key in keys}
    assert {"sum", "gauge", "histogram"} <= tables
    sums = [
        row
        for key in keys
        if key.startswith("metrics/sum/otlp2parquet/")
        for row in pq.read_table(pipeline.storage.fs.open(pipeline.storage.path(key))).to_pylist()
    ]
    received = [r for r in sums if r["MetricName"] == "otlp2parquet_records_received_total"]
    assert any(dict(r["Attributes"]) == {"signal": "logs"} and r["Value"] >= 1 for r in received)


def test_grpc_enabled_without_the_grpc_plugin_is_a_config_error(tmp_path: Path) -> None:
    runtime = bootstrap(
        None,
        {
            "plugins.disable": (["platform_grpc"], "test"),
            "storage.backend": ("memory", "test"),
            "server.grpc_enabled": (True, "test"),
        },
        env={},
        cwd=tmp_path,
    )
    companions = Companions(runtime, runtime.pipeline(), runtime.config.section("server"))
    with pytest.raises(ConfigError, match="grpc platform plugin is not loaded"):
        companions.start()
