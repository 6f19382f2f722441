"""Self-telemetry is an object the runtime owns, not module state: two runtimes count apart, and
every part built from a runtime (pipeline, OTLP/HTTP core, gRPC receiver, server companions,
Lambda and the Worker) counts into that runtime's ``Telemetry``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet.assembly import Runtime, bootstrap
from otlp2parquet.plugins.platform_lambda import LambdaApp
from otlp2parquet.plugins.platform_server.companions import Companions
from otlp2parquet.telemetry import metrics
from otlp2parquet.telemetry.metrics import Telemetry
from support.settings import settings_layer
from support.signal_samples import example

JSON = "application/json"


def runtime(tmp_path: Path, telemetry: Telemetry | None = None, **settings: Any) -> Runtime:
    cli = {
        "storage.backend": ("memory", "test"),
        "storage.memory.path": (f"/owner-{uuid.uuid4().hex}", "test"),
        "batch.enabled": (False, "test"),
    }
    cli.update(settings_layer(settings))
    return bootstrap(None, cli, env={}, cwd=tmp_path, telemetry=telemetry)


def count(telemetry: Telemetry, name: str, **labels: str) -> float:
    return telemetry.registry().get_sample_value(name, labels) or 0.0


def test_the_module_keeps_no_state() -> None:
    for name in ("_metrics", "_pipeline", "_spool_probe", "_lock", "enable", "watch"):
        assert not hasattr(metrics, name), name


def test_two_runtimes_count_apart(tmp_path: Path) -> None:
    first, second = runtime(tmp_path), runtime(tmp_path)
    assert first.telemetry is not second.telemetry
    assert first.telemetry.enable() and second.telemetry.enable()
    first.pipeline().ingest("logs", example("logs.json"), JSON)
    assert count(first.telemetry, "otlp2parquet_records_received_total", signal="logs") == 1
    assert count(first.telemetry, "otlp2parquet_files_written_total", table="logs") == 1
    assert count(second.telemetry, "otlp2parquet_records_received_total", signal="logs") == 0
    assert count(second.telemetry, "otlp2parquet_files_written_total", table="logs") == 0


def test_bootstrap_hands_the_given_telemetry_to_the_pipeline(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    owner = runtime(tmp_path, telemetry)
    assert owner.telemetry is telemetry
    assert owner.pipeline().telemetry is telemetry


def test_the_file_counter_is_the_telemetry_prometheus_plugin(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    assert telemetry.enable()
    owner = runtime(tmp_path, telemetry, plugins__disable=["telemetry_prometheus"])
    assert owner.pm.get_plugin("telemetry_prometheus.telemetry") is None
    owner.pipeline().ingest("logs", example("logs.json"), JSON)
    assert count(telemetry, "otlp2parquet_records_received_total", signal="logs") == 1
    assert count(telemetry, "otlp2parquet_files_written_total", table="logs") == 0


def test_companions_enable_and_watch_the_runtimes_telemetry(tmp_path: Path) -> None:
    owner = runtime(tmp_path, telemetry__metrics_endpoint=True)
    pipeline = owner.pipeline()
    assert not owner.telemetry.enabled()
    companions = Companions(owner, pipeline, owner.config.section("server"))
    companions.start()
    try:
        assert owner.telemetry.enabled() and owner.telemetry.watched() is pipeline
    finally:
        companions.stop()


def test_the_grpc_receiver_counts_into_the_runtimes_telemetry(tmp_path: Path) -> None:
    owner = runtime(tmp_path)
    component = owner.registry.get("platform", "grpc")
    platform = component.factory(owner.config.section(component.section))
    receiver = platform.receiver(owner, owner.pipeline())
    assert receiver.telemetry is owner.telemetry


def test_lambda_counts_into_the_runtimes_telemetry(tmp_path: Path) -> None:
    owner = runtime(tmp_path)
    app = LambdaApp(owner)
    try:
        assert app.http.telemetry is owner.telemetry
        assert owner.pipeline().telemetry is owner.telemetry
    finally:
        app.close()


def test_the_worker_counts_into_the_runtimes_telemetry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otlp2parquet.plugins.platform_cloudflare import worker
    from otlp2parquet.plugins.platform_cloudflare.storage import use_env
    from support.cloudflare_support import make_env

    monkeypatch.chdir(tmp_path)  # no ./config.toml
    app = worker.WorkerApp(make_env())
    try:
        assert app.http.telemetry is app.runtime.telemetry
        assert app.pipeline.telemetry is app.runtime.telemetry
        fresh = worker.make_pipeline(app.runtime, fresh=True)
        assert fresh.telemetry is app.runtime.telemetry
    finally:
        use_env(None)
