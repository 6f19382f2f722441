"""The OTLP/gRPC receiver in process, over a scripted pipeline: the three services, gzip,
partial_success, the status code (and RetryInfo) of every error, auth, draining, and the
OpenTelemetry Python gRPC exporter retrying exactly when it should."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from otlp2parquet.errors import (
    Backpressure,
    ConfigError,
    DecodeError,
    PayloadTooLarge,
    StorageError,
)
from otlp2parquet.http.auth import Authenticator
from otlp2parquet.plugins.platform_grpc.receiver import SERVICES, GrpcReceiver
from otlp2parquet.types import IngestResult
from support.server_fakes import PB, FakePipeline

RESPONSES = {
    "logs": (logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
    "traces": (trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
    "metrics": (metrics_service_pb2.ExportMetricsServiceResponse, "rejected_data_points"),
}
LIMIT = 4096


class ScriptedPipeline(FakePipeline):
    """Raises the queued errors one call at a time, then answers ``result``."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[Exception] = []

    def ingest(self, signal: str, body: bytes, ctype: str | None, enc: str | None) -> IngestResult:
        self.calls.append((signal, body, ctype, enc))
        if self.errors:
            raise self.errors.pop(0)
        return self.result


@pytest.fixture
def pipeline() -> ScriptedPipeline:
    return ScriptedPipeline()


def start(pipeline: Any, **kwargs: Any) -> GrpcReceiver:
    receiver = GrpcReceiver(
        pipeline, listen_addr="127.0.0.1:0", threads=2, max_payload_bytes=LIMIT, **kwargs
    )
    receiver.start()
    return receiver


@pytest.fixture
def receiver(pipeline: ScriptedPipeline) -> Iterator[GrpcReceiver]:
    receiver = start(pipeline)
    yield receiver
    receiver.stop(1)


def call(receiver: GrpcReceiver, signal: str, body: bytes, **kwargs: Any) -> bytes:
    """One raw ``Export`` call (bytes in, bytes out)."""
    with grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
        export = channel.unary_unary(f"/{SERVICES[signal]}/Export")
        return export(body, timeout=10, **kwargs)


def failure(receiver: GrpcReceiver, signal: str = "logs", **kwargs: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(receiver, signal, b"\x0a\x00", **kwargs)
    return info.value


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_each_service_answers_with_partial_success(
    receiver: GrpcReceiver, pipeline: ScriptedPipeline, signal: str
) -> None:
    pipeline.result = IngestResult(accepted=3, rejected=2, reasons=["bad id", "no time"])
    cls, field = RESPONSES[signal]
    message = cls.FromString(call(receiver, signal, b"\x0a\x00"))
    assert getattr(message.partial_success, field) == 2
    assert message.partial_success.error_message == "bad id; no time"
    assert pipeline.calls == [(signal, b"\x0a\x00", PB, None)]
    pipeline.result = IngestResult(accepted=3)
    assert not cls.FromString(call(receiver, signal, b"")).HasField("partial_success")


def test_gzip_requests_reach_the_pipeline_decompressed(
    receiver: GrpcReceiver, pipeline: ScriptedPipeline
) -> None:
    body = b"\x0a\x00" * 200
    call(receiver, "traces", body, compression=grpc.Compression.Gzip)
    assert pipeline.calls[-1][1] == body


def retry_delay(error: grpc.RpcError) -> float | None:
    """The RetryInfo delay from the Status details; checks the trailer copy agrees."""
    trailers = dict(error.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert status.code == error.code().value[0] and status.message == error.details()
    if not status.details:
        assert "google.rpc.retryinfo-bin" not in trailers
        return None
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info)
    assert trailers["google.rpc.retryinfo-bin"] == info.SerializeToString()
    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9


@pytest.mark.parametrize(
    ("error", "code", "delay"),
    [
        (DecodeError("invalid protobuf at byte 3"), grpc.StatusCode.INVALID_ARGUMENT, None),
        (PayloadTooLarge("too big"), grpc.StatusCode.INVALID_ARGUMENT, None),
        (Backpressure("buffers full", retry_after=2.5), grpc.StatusCode.RESOURCE_EXHAUSTED, 2.5),
        (StorageError("bucket unreachable", retry_after=7), grpc.StatusCode.UNAVAILABLE, 7.0),
        (RuntimeError("secret detail"), grpc.StatusCode.INTERNAL, None),
    ],
)
def test_errors_become_status_codes_with_retry_info_when_retryable(
    receiver: GrpcReceiver,
    pipeline: ScriptedPipeline,
    error: Exception,
    code: grpc.StatusCode,
    delay: float | None,
) -> None:
    pipeline.errors.append(error)
    rpc_error = failure(receiver)
    assert rpc_error.code() == code
    assert retry_delay(rpc_error) == delay
    if code == grpc.StatusCode.INTERNAL:
        assert "secret" not in rpc_error.details()
    else:
        assert rpc_error.details() == str(error)


def test_messages_over_the_limit_are_refused_without_retry_info(
    receiver: GrpcReceiver, pipeline: ScriptedPipeline
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(receiver, "logs", b"\x0a" * (LIMIT + 100))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "google.rpc.retryinfo-bin" not in dict(info.value.trailing_metadata() or ())
    assert pipeline.calls == []


def test_draining_answers_unavailable_with_retry_info(
    receiver: GrpcReceiver, pipeline: ScriptedPipeline
) -> None:
    receiver.begin_drain()
    error = failure(receiver)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert retry_delay(error) == 5.0
    assert pipeline.calls == []


def test_credentials_are_checked_like_http(pipeline: ScriptedPipeline) -> None:
    receiver = start(pipeline, auth=Authenticator(bearer=b"s3cret"))
    try:
        assert failure(receiver).code() == grpc.StatusCode.UNAUTHENTICATED
        call(receiver, "logs", b"", metadata=(("authorization", "Bearer s3cret"),))
        assert len(pipeline.calls) == 1
    finally:
        receiver.stop(1)


def test_a_port_in_use_is_a_config_error(pipeline: ScriptedPipeline) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        receiver = GrpcReceiver(pipeline, listen_addr=f"127.0.0.1:{port}")
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            receiver.start()


def sdk_export(receiver: GrpcReceiver) -> str:
    """One log record through the SDK's gRPC exporter; returns the export result's name."""
    records = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(records))
    provider.get_logger("t").emit(body="hello")
    exporter = OTLPLogExporter(endpoint=f"127.0.0.1:{receiver.port}", insecure=True, timeout=10)
    try:
        return exporter.export(records.get_finished_logs()).name
    finally:
        exporter.shutdown()
        provider.shutdown()


def test_sdk_exporter_retries_backpressure_after_the_given_delay(
    receiver: GrpcReceiver, pipeline: ScriptedPipeline
) -> None:
    pipeline.errors += [
        Backpressure("full", retry_after=0.05),
        StorageError("down", retry_after=0.05),
    ]
    assert sdk_export(receiver) == "SUCCESS"
    assert len(pipeline.calls) == 3
    request = logs_service_pb2.ExportLogsServiceRequest.FromString(pipeline.calls[-1][1])
    assert request.resource_logs[0].scope_logs[0].log_records[0].body.string_value == "hello"


def test_sdk_exporter_never_retries_invalid_data(
    receiver: GrpcReceiver, pipeline: ScriptedPipeline
) -> None:
    pipeline.errors.append(DecodeError("bad"))
    assert sdk_export(receiver) == "FAILURE"
    assert len(pipeline.calls) == 1
