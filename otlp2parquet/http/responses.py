"""OTLP/HTTP response bodies: ``Export*ServiceResponse`` on success and ``google.rpc.Status``
on failure, each in the request's encoding (protobuf for protobuf, JSON for everything else).

This is also the one place where an error becomes an HTTP response: its status from the table in
``otlp2parquet.http.errors``, a ``Retry-After`` header and a ``Status`` body; every platform
adapter answers through it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otlp2parquet.errors import Otlp2ParquetError
from otlp2parquet.http.bodies import media_type
from otlp2parquet.http.errors import RETRY_STATUSES, status_of
from otlp2parquet.telemetry.redaction import Redactor
from otlp2parquet.types import IngestResult

log = logging.getLogger(__name__)

PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
JSON_TYPE = "application/json"
#: Seconds a client is asked to wait on a 429/503 whose error names no delay of its own.
DEFAULT_RETRY_AFTER = 5.0

#: HTTP status → the google.rpc.Code written in an error's ``Status`` body (the inverse of the
#: mapping in google/rpc/code.proto). OTLP/gRPC has its own table, by error class.
STATUS_BODY_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    408: code_pb2.DEADLINE_EXCEEDED,
    413: code_pb2.INVALID_ARGUMENT,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    503: code_pb2.UNAVAILABLE,
}

#: signal → (response message class, name of the partial-success count field)
EXPORT_RESPONSES: dict[str, tuple[type[Message], str]] = {
    "logs": (logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
    "traces": (trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
    "metrics": (metrics_service_pb2.ExportMetricsServiceResponse, "rejected_data_points"),
}


@dataclass
class Response:
    """A transport-neutral HTTP response."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def response_type(content_type: str | None) -> str:
    """The media type to answer a request of ``content_type`` with."""
    mt = media_type(content_type)
    return mt if mt in PROTOBUF_TYPES else JSON_TYPE


def encode(message: Message, mtype: str) -> bytes:
    if mtype in PROTOBUF_TYPES:
        return message.SerializeToString()
    data = json_format.MessageToDict(message)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def export_response(signal: str, result: IngestResult, content_type: str | None) -> Response:
    """200 with the signal's ``Export*ServiceResponse``; ``partial_success`` only when
    records were rejected or the mapper has something to say."""
    mtype = response_type(content_type)
    cls, count_field = EXPORT_RESPONSES[signal]
    message = cls()
    if result.rejected or result.reasons:
        setattr(message.partial_success, count_field, result.rejected)
        message.partial_success.error_message = result.message
    return Response(200, [("Content-Type", mtype)], encode(message, mtype))


def status_response(
    status: int,
    message: str,
    content_type: str | None,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """An error status with a ``google.rpc.Status`` body in the request's encoding."""
    mtype = response_type(content_type)
    body = status_pb2.Status(code=STATUS_BODY_CODES.get(status, code_pb2.UNKNOWN), message=message)
    return Response(status, [("Content-Type", mtype), *(headers or [])], encode(body, mtype))


def error_response(
    exc: BaseException, content_type: str | None, redactor: Redactor | None = None
) -> Response:
    """The one mapping of an exception to an OTLP/HTTP error response. Errors of our own tree
    keep their message (secrets masked by ``redactor``) and get the status of
    ``http.errors``; anything else is a logged 500 whose details stay here."""
    if isinstance(exc, Otlp2ParquetError):
        status, message = status_of(exc), (redactor or Redactor()).redact(str(exc))
    else:
        log.error("unexpected error while handling a request", exc_info=exc)
        status, message = 500, "internal error; the server log has the details"
    headers = list(getattr(exc, "headers", ()))
    if status in RETRY_STATUSES:
        delay = getattr(exc, "retry_after", None) or DEFAULT_RETRY_AFTER
        headers.append(("Retry-After", str(max(1, math.ceil(delay)))))
    return status_response(status, message, content_type, headers)
