"""The smoke suite: what must work with any versions ``pyproject.toml`` allows. It runs in the full
suite and, through ``scripts/smoke.py``, in fresh venvs holding the lowest and the newest versions
the ranges allow and the locked runtime alone (no extras, no pandas). It needs only the package,
pytest and the OpenTelemetry SDK with its OTLP/HTTP exporter."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import otlp2parquet
from otlp2parquet.plugin.manager import BUILTIN_PLUGINS, build_plugin_manager, builtin_name
from support.otlp_server import EXAMPLES, ServerProcess, rows

#: Modules that need an extra, and the module that extra provides.
NEEDS_EXTRA = {
    "otlp2parquet.plugins.platform_grpc.receiver": "grpc",
    "otlp2parquet.plugins.platform_grpc.errors": "grpc",
}


def modules() -> list[str]:
    found = pkgutil.walk_packages(otlp2parquet.__path__, "otlp2parquet.")
    return sorted(m.name for m in found if not m.name.endswith("__main__"))


@pytest.mark.parametrize("module", modules())
def test_every_module_imports(module: str) -> None:
    extra = NEEDS_EXTRA.get(module)
    if extra is not None and importlib.util.find_spec(extra) is None:
        with pytest.raises(ModuleNotFoundError) as caught:
            importlib.import_module(module)
        assert caught.value.name == extra  # a clear cause, not a broken import
        return
    assert importlib.import_module(module).__name__ == module


def test_every_builtin_plugin_registers() -> None:
    pm = build_plugin_manager()
    assert {name for name, _ in pm.list_name_plugin()} >= {builtin_name(m) for m in BUILTIN_PLUGINS}


def convert(out: Path, *launcher: str) -> subprocess.CompletedProcess[str]:
    """``otlp2parquet convert`` of the official examples into ``out``; ``launcher`` replaces
    ``-m otlp2parquet`` (the CLI's arguments follow it either way)."""
    command = [sys.executable, *(launcher or ("-m", "otlp2parquet")), "convert", "--no-progress"]
    inputs = [str(p) for p in sorted(EXAMPLES.glob("*.json"))]
    return subprocess.run(
        [*command, "-o", str(out), *inputs], cwd=out.parent, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def assert_examples_converted(out: Path) -> None:
    """The golden values of SCHEMA.md for the official examples."""
    logs = {r["Body"]: r for r in rows(out, "logs")}
    record = logs["Example log record"]
    assert record["TraceId"] == "5b8efff798038103d269b633813fc60c"
    assert record["SpanId"] == "eee19b7ec3c1b174"
    assert (record["SeverityNumber"], record["SeverityText"]) == (10, "Information")
    assert record["ServiceName"] == "my.service"
    assert dict(record["LogAttributes"])["int.attribute"] == "10"
    assert any(r["EventName"] == "browser.page_view" for r in logs.values())
    (span,) = rows(out, "traces")
    assert (span["SpanKind"], span["StatusCode"]) == ("Server", "Unset")
    assert (span["Duration"], span["ParentSpanId"]) == (1_000_000_000, "eee19b7ec3c1b173")
    for kind in ("sum", "gauge", "histogram", "exponential_histogram"):
        assert len(rows(out, f"metrics/{kind}")) == 1, kind


def test_convert_reads_the_official_examples(tmp_path: Path) -> None:
    done = convert(tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert_examples_converted(tmp_path / "out")


#: Run as ``python -c``: importing pandas fails as if it were not installed, then the CLI runs.
NO_PANDAS = """
import runpy, sys
class NoPandas:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoPandas())
runpy.run_module("otlp2parquet", run_name="__main__", alter_sys=True)
"""


def test_convert_needs_no_pandas(tmp_path: Path) -> None:
    done = convert(tmp_path / "out", "-c", NO_PANDAS)
    assert done.returncode == 0, done.stderr
    assert_examples_converted(tmp_path / "out")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("smoke"), "[batch]\nmax_age_secs = 0.2\n") as proc:
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log()


def wait_rows(data: Path, table: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        found = [r for r in rows(data, table) if r["ServiceName"] == "smoke"]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, (table, found)
            return found
        time.sleep(0.1)


def test_serve_round_trip_with_the_python_sdk(server: ServerProcess) -> None:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    resource = Resource.create({"service.name": "smoke"})
    tracers = TracerProvider(resource=resource)
    tracers.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{server.url}/v1/traces")))
    with tracers.get_tracer("smoke-tracer").start_as_current_span("checkout") as span:
        span.set_attribute("items", 3)
        trace_id = format(span.get_span_context().trace_id, "032x")
    tracers.shutdown()

    loggers = LoggerProvider(resource=resource)
    exporter = OTLPLogExporter(f"{server.url}/v1/logs")
    loggers.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("smoke")
    logger.propagate = False
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=loggers))
    logger.warning("disk at %d%%", 91)
    loggers.shutdown()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(f"{server.url}/v1/metrics"), export_interval_millis=60_000
    )
    meters = MeterProvider(resource=resource, metric_readers=[reader])
    meters.get_meter("smoke-meter").create_counter("orders").add(5, {"region": "eu"})
    meters.shutdown()

    (row,) = wait_rows(server.data, "traces", 1)
    assert (row["SpanName"], row["TraceId"], row["SpanKind"]) == ("checkout", trace_id, "Internal")
    assert dict(row["SpanAttributes"]) == {"items": "3"}
    (row,) = wait_rows(server.data, "logs", 1)
    assert (row["Body"], row["SeverityText"], row["SeverityNumber"]) == ("disk at 91%", "WARN", 13)
    (row,) = wait_rows(server.data, "metrics/sum", 1)
    assert (row["MetricName"], row["Value"], row["IsMonotonic"]) == ("orders", 5.0, True)
    assert dict(row["Attributes"]) == {"region": "eu"}
