"""``otlp2parquet serve --grpc-port``: OTLP/gRPC beside OTLP/HTTP in one real server process.
The OpenTelemetry Python SDK's gRPC exporters (plain and gzip) send logs, spans and every
metric kind, which come back from the Parquet files; ``GET /metrics`` counts them; with
``self_telemetry`` the server's own metrics land in the lake too. ``platform = "grpc"`` serves
gRPC alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

from otlp2parquet.plugins.platform_grpc.receiver import SERVICES
from support.otlp_server import ServerProcess, free_port, rows
from support.sdk_traffic import check_parquet, send_everything
from support.signal_samples import example_protobuf

CONFIG = """
[batch]
max_age_secs = 0.2
[telemetry]
self_telemetry = true
self_telemetry_interval_secs = 0.3
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    grpc_port = free_port()
    tmp = tmp_path_factory.mktemp("grpc-server")
    with ServerProcess(tmp, CONFIG, args=("--grpc-port", str(grpc_port))) as proc:
        proc.grpc_port = grpc_port  # type: ignore[attr-defined]
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log()
    assert f"listening for OTLP/gRPC on 127.0.0.1:{grpc_port}" in proc.log()


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip])
def test_python_sdk_grpc_exporters(server: ServerProcess, compression: grpc.Compression) -> None:
    service = f"py-grpc-{compression.name.lower()}"
    ids = send_everything(service, grpc_exporters(server, compression))
    check_parquet(server.data, service, ids)


def metrics(server: ServerProcess) -> dict[str, float]:
    """``GET /metrics`` as {'name{labels}': value}."""
    status, headers, body = server.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    samples = {}
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            assert line.split()[2].startswith("otlp2parquet_"), line
        elif line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            assert name.startswith("otlp2parquet_"), line
            samples[name] = float(value)
    return samples


def grpc_exporters(server: ServerProcess, compression: grpc.Compression) -> tuple[Any, Any, Any]:
    endpoint = f"127.0.0.1:{server.grpc_port}"  # type: ignore[attr-defined]
    options = {"endpoint": endpoint, "insecure": True, "compression": compression}
    return OTLPLogExporter(**options), OTLPSpanExporter(**options), OTLPMetricExporter(**options)


def test_metrics_count_grpc_requests_records_and_files(server: ServerProcess) -> None:
    send_everything("py-grpc-counted", grpc_exporters(server, grpc.Compression.NoCompression))
    json = {"Content-Type": "application/json"}
    assert server.request("POST", "/v1/logs", b"{oops", json)[0] == 400
    samples = metrics(server)
    grpc_ok = 'otlp2parquet_requests_total{outcome="ok",signal="logs",transport="grpc"}'
    assert samples[grpc_ok] >= 1
    assert samples['otlp2parquet_requests_total{outcome="invalid",signal="logs",transport="http"}']
    assert samples['otlp2parquet_records_received_total{signal="logs"}'] >= 2
    assert samples['otlp2parquet_request_duration_seconds_count{signal="traces",transport="grpc"}']
    for name in (
        'otlp2parquet_files_written_total{table="logs"}',
        'otlp2parquet_bytes_written_total{table="traces"}',
        'otlp2parquet_flush_duration_seconds_count{table="metrics_sum"}',
    ):
        deadline = time.monotonic() + 10
        while samples.get(name, 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
            samples = metrics(server)
        assert samples[name] > 0, name
    for gauge in ("batch_buffered_rows", "spool_bytes", "catalog_pending_receipts"):
        assert f"otlp2parquet_{gauge}" in samples


def test_self_telemetry_lands_in_the_lake(server: ServerProcess) -> None:
    deadline = time.monotonic() + 15
    while True:
        own = [r for r in rows(server.data, "metrics/sum") if r["ServiceName"] == "otlp2parquet"]
        names = {r["MetricName"] for r in own}
        if "otlp2parquet_records_received_total" in names or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "otlp2parquet_records_received_total" in names, names
    row = next(r for r in own if r["MetricName"] == "otlp2parquet_records_received_total")
    assert row["IsMonotonic"] and row["AggregationTemporality"] == 2
    assert dict(row["Attributes"])["signal"] in ("logs", "traces", "metrics")
    assert dict(row["ResourceAttributes"])["service.name"] == "otlp2parquet"


def test_grpc_platform_alone(tmp_path: Path) -> None:
    """``platform = "grpc"``: no HTTP server; SIGTERM drains and flushes; exit 0."""
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'platform = "grpc"\n[server]\ngrpc_listen_addr = "127.0.0.1:{port}"\n')
    command = [sys.executable, "-m", "otlp2parquet", "--config", str(config), "serve",
               "--output", str(tmp_path / "data")]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=20)
            export = channel.unary_unary(f"/{SERVICES['logs']}/Export")
            body = example_protobuf("logs.json", "logs").SerializeToString()
            assert export(body, timeout=10) == b""
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    assert [r["Body"] for r in rows(tmp_path / "data", "logs")] == ["Example log record"]
