"""The OTLP/gRPC receiver: ``Export`` of the Logs, Trace and Metrics services over grpcio.

Request bodies stay bytes (no deserializer) and go through the pipeline's own protobuf decoder,
exactly as OTLP/HTTP protobuf bodies do; grpcio undoes gzip itself. Errors become the status
codes the OTLP specification gives, so that clients retry exactly when they should:
INVALID_ARGUMENT for undecodable or oversized data (never retried); RESOURCE_EXHAUSTED
(backpressure) and UNAVAILABLE (storage failing, server draining), both carrying a RetryInfo
with the delay, inside the ``google.rpc.Status`` details and also as the
``google.rpc.retryinfo-bin`` trailer that the OpenTelemetry Python exporter reads.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent import futures
from typing import TYPE_CHECKING, Any

import grpc
from google.rpc import error_details_pb2, status_pb2

from otlp2parquet.errors import ConfigError, Otlp2ParquetError, Unauthenticated, Unavailable
from otlp2parquet.http.auth import Authenticator
from otlp2parquet.http.otlp import DRAIN_RETRY_AFTER
from otlp2parquet.http.responses import DEFAULT_RETRY_AFTER, export_response
from otlp2parquet.telemetry.metrics import Telemetry
from otlp2parquet.telemetry.redaction import Redactor

from .errors import RETRY_CODES, code_of

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config
    from otlp2parquet.pipeline.core import Pipeline

log = logging.getLogger(__name__)

SERVICES = {
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
}
PROTOBUF = "application/x-protobuf"
_STATUS = {code.value[0]: code for code in grpc.StatusCode}


def status_for(
    exc: BaseException, redactor: Redactor | None = None
) -> tuple[status_pb2.Status, bytes | None]:
    """The ``google.rpc.Status`` for an error (secrets masked by ``redactor``), and the
    serialized RetryInfo when the client should retry. The table of ``platform_grpc.errors``
    decides the code."""
    if isinstance(exc, Otlp2ParquetError):
        code, message = code_of(exc), (redactor or Redactor()).redact(str(exc))
    else:
        log.error("unexpected error while handling an OTLP/gRPC request", exc_info=exc)
        code, message = grpc.StatusCode.INTERNAL, "internal error; the server log has the details"
    status = status_pb2.Status(code=code.value[0], message=message)
    if code not in RETRY_CODES:
        return status, None
    info = error_details_pb2.RetryInfo()
    delay = float(getattr(exc, "retry_after", None) or DEFAULT_RETRY_AFTER)
    info.retry_delay.seconds = int(delay)
    info.retry_delay.nanos = round((delay - int(delay)) * 1e9)
    status.details.add().Pack(info)
    return status, info.SerializeToString()


class GrpcReceiver:
    """One grpcio server with the three OTLP services over one pipeline. Thread-safe."""

    def __init__(
        self,
        pipeline: Pipeline,
        listen_addr: str = "0.0.0.0:4317",
        threads: int = 8,
        max_payload_bytes: int = 8 * 1024 * 1024,
        auth: Authenticator | None = None,
        origin: str = "server.grpc_listen_addr",
        reuse_port: bool = False,
        telemetry: Telemetry | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.redactor = redactor if redactor is not None else Redactor()
        self.telemetry = telemetry if telemetry is not None else Telemetry()
        self.listen_addr = listen_addr
        self.threads = threads
        self.max_payload_bytes = max_payload_bytes
        self.auth = auth
        self.origin = origin
        self.reuse_port = reuse_port  # worker processes share the port
        self.port = 0
        self._server: grpc.Server | None = None
        self._draining = False

    @classmethod
    def from_config(
        cls,
        config: Config,
        pipeline: Pipeline,
        options: dict[str, Any],
        telemetry: Telemetry | None = None,
    ) -> GrpcReceiver:
        return cls(
            pipeline,
            listen_addr=str(options["grpc_listen_addr"]),
            threads=int(options["threads"]),
            max_payload_bytes=int(config.get("request.max_payload_bytes")),
            auth=Authenticator.from_config(config),
            origin=f"server.grpc_listen_addr from {config.origin('server.grpc_listen_addr')}",
            reuse_port=int(options.get("workers") or 1) > 1,
            telemetry=telemetry,
            redactor=Redactor.from_config(config, os.environ),
        )

    def start(self) -> int:
        """Bind and start serving; returns the port. Raises ConfigError when it cannot bind."""
        server = grpc.server(
            futures.ThreadPoolExecutor(self.threads, thread_name_prefix="otlp2parquet-grpc"),
            options=[
                # grpcio refuses bigger messages (after decompression) with RESOURCE_EXHAUSTED
                # and no RetryInfo, which clients do not retry; the decoder checks again.
                ("grpc.max_receive_message_length", self.max_payload_bytes),
                # a port in use is an error, unless worker processes share it on purpose
                ("grpc.so_reuseport", int(self.reuse_port)),
            ],
        )
        handlers = {
            service: grpc.method_handlers_generic_handler(
                service, {"Export": grpc.unary_unary_rpc_method_handler(self._handler(signal))}
            )
            for signal, service in SERVICES.items()
        }
        server.add_generic_rpc_handlers(tuple(handlers.values()))
        try:
            port = server.add_insecure_port(self.listen_addr)
        except RuntimeError as exc:
            port, reason = 0, str(exc)
        else:
            reason = "the address is in use or not valid"
        if not port:
            raise ConfigError(
                f"cannot listen for OTLP/gRPC on {self.listen_addr} ({self.origin}): {reason}; "
                "choose another address or port (--grpc-port)"
            )
        server.start()
        self._server, self.port = server, port
        host = self.listen_addr.rpartition(":")[0]
        log.info("listening for OTLP/gRPC on %s:%s", host, port, extra={"grpc_port": port})
        return port

    def begin_drain(self) -> None:
        """Answer new exports with UNAVAILABLE (and a RetryInfo) from now on."""
        self._draining = True

    def stop(self, grace: float) -> None:
        """Refuse new calls, give the ones in flight ``grace`` seconds, then stop."""
        self.begin_drain()
        if self._server is not None:
            self._server.stop(grace).wait(grace + 1)
            self._server = None

    # -- one call ---------------------------------------------------------------------------
    def _handler(self, signal: str) -> Any:
        def export(request: bytes, context: grpc.ServicerContext) -> bytes:
            return self.export(signal, request, context)

        return export

    def export(self, signal: str, request: bytes, context: grpc.ServicerContext) -> bytes:
        """Ingest one ``Export*ServiceRequest``; abort the call with the mapped status on
        failure."""
        started = time.monotonic()
        error: BaseException | None = None
        body = b""
        try:
            self._check(context)
            result = self.pipeline.ingest(signal, request, PROTOBUF, None)
            body = export_response(signal, result, PROTOBUF).body
        except Exception as exc:  # every failure becomes a gRPC status below
            error = exc
        self.telemetry.observe_request("grpc", signal, time.monotonic() - started, error)
        if error is None:
            log.debug("gRPC %s export -> OK", signal, extra={"signal": signal})
            return body
        status, retry_info = status_for(error, self.redactor)
        code = _STATUS.get(status.code, grpc.StatusCode.UNKNOWN)
        level = logging.WARNING if code in RETRY_CODES else logging.INFO
        log.log(
            level,
            "gRPC %s export -> %s: %s",
            signal,
            code.name,
            status.message,
            extra={"signal": signal, "grpc_code": code.name},
        )
        trailers = [("grpc-status-details-bin", status.SerializeToString())]
        if retry_info is not None:
            trailers.append(("google.rpc.retryinfo-bin", retry_info))
        context.set_trailing_metadata(tuple(trailers))
        context.abort(code, status.message)
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

    def _check(self, context: grpc.ServicerContext) -> None:
        if self._draining:
            raise Unavailable("the server is shutting down; retry", DRAIN_RETRY_AFTER)
        if self.auth is not None:
            metadata = dict(context.invocation_metadata() or ())
            if not self.auth.check(metadata.get("authorization")):
                raise Unauthenticated("missing or wrong credentials (authorization metadata)")


def serve_alone(receiver: GrpcReceiver, grace: float = 30.0) -> int:
    """``platform = "grpc"``: serve until SIGTERM or SIGINT, then drain and flush."""
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    pipeline = receiver.pipeline
    try:
        receiver.start()
        pipeline.start()
        while not stop.wait(0.5):
            pass
        log.info("draining: no new calls; flushing buffers")
        receiver.stop(grace)
        try:
            pipeline.close()
        except Otlp2ParquetError as exc:
            log.error("could not flush every buffer on shutdown: %s", exc)
            return 1
        return 0
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
