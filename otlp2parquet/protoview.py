"""Protobuf requests re-read as "views" whose attribute lists are raw bytes.

With upb every element read from a repeated message field becomes a Python object, and
attributes are most of an OTLP request: building maps from ``KeyValue`` objects costs about a
microsecond per attribute. A view is the same request parsed with a derived descriptor in which
every attribute list (a ``repeated KeyValue`` field outside ``KeyValueList``) is ``repeated
bytes``; ``attributes.py`` then parses the common shapes of those bytes with numpy, in bulk.
Everything else reads exactly as in the original messages.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

PREFIX = "otlp2parquet.view."
_KEY_VALUE = ".opentelemetry.proto.common.v1.KeyValue"


def _copy_file(file: Any, pool: Any, done: set[str]) -> None:
    from google.protobuf import descriptor_pb2

    if file.name in done:
        return
    for dependency in file.dependencies:
        _copy_file(dependency, pool, done)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    proto.name = "otlp2parquet/view/" + proto.name
    proto.dependency[:] = ["otlp2parquet/view/" + name for name in proto.dependency]
    proto.package = PREFIX + proto.package
    proto.ClearField("service")
    proto.ClearField("options")
    _retarget(proto.message_type)
    pool.Add(proto)
    done.add(file.name)


def _retarget(messages: Any) -> None:
    for message in messages:
        message.ClearField("options")
        for field in message.field:
            if not field.type_name.startswith(".opentelemetry."):
                continue
            if field.type_name == _KEY_VALUE and message.name != "KeyValueList":
                field.type = field.TYPE_BYTES
                field.ClearField("type_name")
            else:
                field.type_name = "." + PREFIX + field.type_name[1:]
        _retarget(message.nested_type)


@functools.cache
def view_types() -> dict[str, Any]:
    """Request full name → its view class."""
    from google.protobuf import descriptor_pool, message_factory
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    pool = descriptor_pool.DescriptorPool()
    done: set[str] = set()
    views = {}
    for module, request in (
        (logs_service_pb2, "ExportLogsServiceRequest"),
        (trace_service_pb2, "ExportTraceServiceRequest"),
        (metrics_service_pb2, "ExportMetricsServiceRequest"),
    ):
        _copy_file(module.DESCRIPTOR, pool, done)
        name = getattr(module, request).DESCRIPTOR.full_name
        views[name] = message_factory.GetMessageClass(pool.FindMessageTypeByName(PREFIX + name))
    return views


def as_views(requests: Sequence[Any]) -> Sequence[Any]:
    """Protobuf requests as views. Anything else (JSON structs, views, a mix of kinds) is
    returned unchanged: the mappers read KeyValue objects just as well, only slower."""
    views = view_types()
    out = []
    for request in requests:
        descriptor = getattr(request, "DESCRIPTOR", None)
        view = views.get(descriptor.full_name) if descriptor is not None else None
        if view is None:
            return requests
        out.append(view.FromString(request.SerializeToString()))
    return out
