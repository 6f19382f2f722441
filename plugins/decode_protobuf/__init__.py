"""Decoder for OTLP/HTTP protobuf bodies (``application/x-protobuf``), parsed by upb."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otlp2parquet import hookimpl
from otlp2parquet.errors import DecodeError
from otlp2parquet.mapping.wire.protoview import Parsed
from otlp2parquet.plugin.registry import Register

MEDIA_TYPES = ("application/x-protobuf", "application/protobuf")


class ProtobufDecoder:
    """Body → one ``Export*ServiceRequest`` message of the opentelemetry-proto package."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsServiceRequest,
        )
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
        )
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.types: dict[str, Any] = {
            "logs": ExportLogsServiceRequest,
            "traces": ExportTraceServiceRequest,
            "metrics": ExportMetricsServiceRequest,
        }

    def count_records(self, body: bytes, signal: str) -> int | None:
        """The records ``body`` holds, read without parsing the records themselves (they stay
        bytes in a record view, so this costs a few bytes per record); None when the body does
        not parse that far (``decode`` then says why)."""
        from google.protobuf.message import DecodeError as ProtobufError

        from otlp2parquet.mapping.wire.protoview import record_view_types
        from otlp2parquet.pipeline.limits import count_records

        kind = self.types.get(signal)
        if kind is None:
            return None
        try:
            view = record_view_types()[kind.DESCRIPTOR.full_name].FromString(body)
        except ProtobufError:
            return None
        return count_records(signal, [view])

    def decode(self, body: bytes, signal: str) -> list[Any]:
        from google.protobuf.message import DecodeError as ProtobufError

        kind = self.types.get(signal)
        if kind is None:
            raise DecodeError(f"no OTLP request type for signal {signal!r}")
        request = kind()
        try:
            request.ParseFromString(body)
        except ProtobufError as exc:
            from .wire_errors import diagnose

            where = diagnose(body, kind.DESCRIPTOR) or str(exc)
            raise DecodeError(f"invalid protobuf {kind.DESCRIPTOR.name}: {where}") from None
        return Parsed([request], body)


@hookimpl
def register_decoders(register: Register) -> None:
    register(name="protobuf", factory=ProtobufDecoder, media_types=MEDIA_TYPES)
