"""The official OpenTelemetry Python SDK exporters (OTLP/HTTP protobuf; plain, gzip, deflate)
against a real ``otlp2parquet serve``: logs, spans and every metric kind the SDK produces come
back from the Parquet files with their values. One more test configures the SDK only from the
variables ``otlp2parquet connect python`` prints."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from support.otlp_server import ServerProcess
from support.sdk_traffic import check_parquet, send_everything

CONFIG = "[batch]\nmax_age_secs = 0.2\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("sdk-python"), CONFIG) as proc:
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log()


@pytest.mark.parametrize(
    "compression", [Compression.NoCompression, Compression.Gzip, Compression.Deflate]
)
def test_python_sdk_exporters(server: ServerProcess, compression: Compression) -> None:
    service = f"py-sender-{compression.value}"
    exporters = (
        OTLPLogExporter(endpoint=f"{server.url}/v1/logs", compression=compression),
        OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", compression=compression),
        OTLPMetricExporter(endpoint=f"{server.url}/v1/metrics", compression=compression),
    )
    ids = send_everything(service, exporters)
    check_parquet(server.data, service, ids)


def test_connect_python_variables_are_enough(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "otlp2parquet", "connect", "python", "--endpoint", server.url,
         "--service-name", "py-connected"],
        capture_output=True, text=True, check=True, cwd=server.tmp,
    ).stdout  # fmt: skip
    variables = dict(
        line.removeprefix("export ").split("=", 1)
        for line in printed.splitlines()
        if line.startswith("export ")
    )
    assert variables["OTEL_EXPORTER_OTLP_COMPRESSION"] == "gzip"
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    exporters = (OTLPLogExporter(), OTLPSpanExporter(), OTLPMetricExporter())
    ids = send_everything(variables["OTEL_SERVICE_NAME"], exporters)
    check_parquet(server.data, "py-connected", ids)
