"""``Parsed.released``: the pipeline lets a protobuf request's parsed message go before the
built-in mappers run (they read views of the body), and anything that reads it still can."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from otlp2parquet.assembly import bootstrap
from otlp2parquet.mapping.wire.protoview import Parsed, Unparsed
from otlp2parquet.pipeline.limits import count_records
from plugins.decode_protobuf import ProtobufDecoder


def _logs(n: int = 3) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource = request.resource_logs.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "checkout"
    scope = resource.scope_logs.add()
    for i in range(n):
        scope.log_records.add(time_unix_nano=10**18 + i).body.string_value = f"r{i}"
    return request


def test_a_released_request_reads_like_the_message_it_replaces() -> None:
    message = _logs()
    body = message.SerializeToString()
    parsed = ProtobufDecoder().decode(body, "logs")
    released = parsed.released()
    assert isinstance(released, Parsed) and released.body is body
    (request,) = released
    assert isinstance(request, Unparsed)
    assert request._message is None  # nothing parsed until something reads it
    assert (
        request.DESCRIPTOR.full_name
        == "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"
    )
    assert request.SerializeToString() is body
    assert request._message is None
    assert count_records("logs", released) == 3  # reads it: parsed once from the body
    assert (
        request == message
        and request.resource_logs[0].scope_logs[0].log_records[2].body.string_value == "r2"
    )
    assert released.released() is released  # already released


def test_requests_of_several_messages_are_kept() -> None:
    requests = Parsed([_logs(), _logs()], b"")
    assert requests.released() is requests


@pytest.mark.parametrize("signal", ["logs", "metrics"])
def test_the_pipeline_hands_built_in_mappers_released_requests(signal: str, tmp_path: Path) -> None:
    runtime = bootstrap(
        cli={"storage.backend": ("memory", "test"), "batch.enabled": (False, "test")},
        env={},
        cwd=tmp_path,
    )
    pipeline = runtime.pipeline()
    mapper = pipeline.mappers[signal]
    seen: list[object] = []
    original = mapper.map

    def spy(requests: object) -> object:
        seen.extend(requests)  # type: ignore[call-overload]
        return original(requests)  # type: ignore[arg-type]

    mapper.map = spy  # type: ignore[method-assign]
    if signal == "logs":
        body = _logs().SerializeToString()
    else:
        request = ExportMetricsServiceRequest()
        metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="m")
        metric.gauge.data_points.add(time_unix_nano=10**18, as_double=1.5)
        body = request.SerializeToString()
    result = pipeline.ingest(signal, body, "application/x-protobuf")
    assert result.accepted == (3 if signal == "logs" else 1)
    (request,) = seen
    assert isinstance(request, Unparsed) and request._message is None  # never re-parsed
