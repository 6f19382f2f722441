"""Protobuf requests re-read as "views": the same bytes parsed with derived descriptors in which
some message fields are plain ``bytes``.

With upb every element read from a repeated message field becomes a Python object, which costs
about half a microsecond, and OTLP requests are mostly such elements. Two families of views:

- attribute views (``view_types``): every attribute list (a ``repeated KeyValue`` field outside
  ``KeyValueList``) is ``repeated bytes``; ``attributes.py`` converts those bytes in bulk;
- record views (``record_view_types``): in addition, the records themselves (log records, spans,
  data points) are ``repeated bytes``, which ``wirerows.py`` reads column by column with numpy,
  parsing them as attribute-view messages only for what it cannot read itself.

Everything else reads exactly as in the original messages.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

PREFIX = "otlp2parquet.view."
RECORD_PREFIX = "otlp2parquet.records."
_KEY_VALUE = ".opentelemetry.proto.common.v1.KeyValue"
#: (message, field) of the record lists a record view keeps as bytes.
RECORD_FIELDS = frozenset(
    {
        ("ScopeLogs", "log_records"),
        ("ScopeSpans", "spans"),
        *((kind, "data_points") for kind in ("Gauge", "Sum", "Histogram", "Summary")),
        ("ExponentialHistogram", "data_points"),
    }
)
_REQUESTS = (
    ("logs", "ExportLogsServiceRequest"),
    ("trace", "ExportTraceServiceRequest"),
    ("metrics", "ExportMetricsServiceRequest"),
)


def _copy_file(file: Any, pool: Any, done: set[str], prefix: str, records: bool) -> None:
    from google.protobuf import descriptor_pb2

    if file.name in done:
        return
    for dependency in file.dependencies:
        _copy_file(dependency, pool, done, prefix, records)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    path = prefix.rstrip(".").replace(".", "/") + "/"
    proto.name = path + proto.name
    proto.dependency[:] = [path + name for name in proto.dependency]
    proto.package = prefix + proto.package
    proto.ClearField("service")
    proto.ClearField("options")
    _retarget(proto.message_type, prefix, records)
    pool.Add(proto)
    done.add(file.name)


def _retarget(messages: Any, prefix: str, records: bool) -> None:
    for message in messages:
        message.ClearField("options")
        for field in message.field:
            if not field.type_name.startswith(".opentelemetry."):
                continue
            as_bytes = field.type_name == _KEY_VALUE and message.name != "KeyValueList"
            if as_bytes or (records and (message.name, field.name) in RECORD_FIELDS):
                field.type = field.TYPE_BYTES
                field.ClearField("type_name")
            else:
                field.type_name = "." + prefix + field.type_name[1:]
        _retarget(message.nested_type, prefix, records)


@functools.cache
def _pool(records: bool) -> Any:
    from google.protobuf import descriptor_pool
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    pool = descriptor_pool.DescriptorPool()
    done: set[str] = set()
    prefix = RECORD_PREFIX if records else PREFIX
    for module in (logs_service_pb2, trace_service_pb2, metrics_service_pb2):
        _copy_file(module.DESCRIPTOR, pool, done, prefix, records)
    return pool


@functools.cache
def view_class(full_name: str, records: bool = False) -> Any:
    """The view class of an OTLP message (``opentelemetry.proto.logs.v1.LogRecord`` ...)."""
    from google.protobuf import message_factory

    prefix = RECORD_PREFIX if records else PREFIX
    return message_factory.GetMessageClass(_pool(records).FindMessageTypeByName(prefix + full_name))


def _types(records: bool) -> dict[str, Any]:
    return {
        name: view_class(name, records)
        for name in (f"opentelemetry.proto.collector.{s}.v1.{r}" for s, r in _REQUESTS)
    }


@functools.cache
def view_types() -> dict[str, Any]:
    """Request full name → its attribute-view class."""
    return _types(records=False)


@functools.cache
def record_view_types() -> dict[str, Any]:
    """Request full name → its record-view class."""
    return _types(records=True)


class Parsed(list[Any]):
    """The requests a decoder parsed from one protobuf ``body``, which it keeps so that views
    are parsed from the body itself instead of re-serialized requests. Decoded requests are
    treated as read-only from then on."""

    def __init__(self, requests: Sequence[Any], body: bytes) -> None:
        super().__init__(requests)
        self.body = body

    def released(self) -> Parsed:
        """The same request with its parsed message let go (it is parsed again from the body
        if anything reads it): mappers that read views of the body do not need it, and it
        costs about 3x the body's size while they run."""
        if len(self) != 1 or isinstance(self[0], Unparsed):
            return self
        return Parsed([Unparsed(type(self[0]), self.body)], self.body)


class Unparsed:
    """A request known to parse from ``body``, parsed (once) when read."""

    __slots__ = ("_body", "_kind", "_message")

    def __init__(self, kind: Any, body: bytes) -> None:
        self._kind = kind
        self._body = body
        self._message: Any = None

    @property
    def DESCRIPTOR(self) -> Any:
        return self._kind.DESCRIPTOR

    def SerializeToString(self, **_: Any) -> bytes:
        return self._body

    def message(self) -> Any:
        if self._message is None:
            self._message = self._kind.FromString(self._body)
        return self._message

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message(), name)

    def __eq__(self, other: object) -> bool:
        return bool(self.message() == (other.message() if isinstance(other, Unparsed) else other))

    __hash__ = None  # type: ignore[assignment]  # as protobuf messages


def _convert(requests: Sequence[Any], views: dict[str, Any]) -> list[Any] | None:
    if isinstance(requests, Parsed) and len(requests) == 1:
        view = views.get(requests[0].DESCRIPTOR.full_name)
        if view is not None:
            return [view.FromString(requests.body)]
    out = []
    for request in requests:
        descriptor = getattr(request, "DESCRIPTOR", None)
        view = views.get(descriptor.full_name) if descriptor is not None else None
        if view is None:
            return None
        out.append(view.FromString(request.SerializeToString()))
    return out


def as_views(requests: Sequence[Any]) -> Sequence[Any]:
    """Protobuf requests as attribute views. Anything else (JSON structs, views, a mix of
    kinds) is returned unchanged: the mappers read KeyValue objects just as well, only slower."""
    converted = _convert(requests, view_types())
    return requests if converted is None else converted


def as_record_views(requests: Sequence[Any]) -> list[Any] | None:
    """Protobuf requests as record views; None for anything else (see ``as_views``)."""
    return _convert(requests, record_view_types())
