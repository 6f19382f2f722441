"""OTLP/JSON as msgspec structs that mirror the protobuf message read API.

Attribute names are the protobuf field names; absent nested messages are empty instances; oneofs
answer ``WhichOneof`` and optional fields ``HasField``; enums are ints. IDs are the one difference:
lowercase hex strings (``otlp_json_checks`` normalizes them after decoding) where protobuf has
bytes; the ID transforms accept both. So one mapper serves protobuf and JSON.

The structs read the common form at msgspec's speed: lowerCamelCase names, enums as numbers,
integers as numbers or strings. A body in any other form the proto3 JSON mapping allows (proto
field names, enum names, nulls, unknown fields) fails here and is rewritten by ``otlp_json_tree``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, ClassVar

import msgspec

U32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
U64 = Annotated[int, msgspec.Meta(ge=0)]  # msgspec bounds stop at int64; mappers clamp
I32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
I64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Oneofs = dict[str, tuple[str, ...]]
_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


#: A trace or span ID as sent: hex (any case) or base64; ``otlp_ids`` normalizes it to hex.
Id = str
#: Enum fields take numbers; ``otlp_json_tree`` turns names into numbers.
Enum = I32


def _enum_names(prefix: str, *names: str) -> dict[str, int]:
    return {f"{prefix}_{name}": number for number, name in enumerate(names)}


#: camelCase field name → the enum's value names.
ENUM_FIELDS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "kind": _enum_names(
            "SPAN_KIND", "UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"
        ),
        "code": _enum_names("STATUS_CODE", "UNSET", "OK", "ERROR"),
        "severityNumber": _enum_names(
            "SEVERITY_NUMBER",
            "UNSPECIFIED",
            *(f"{level}{n if n > 1 else ''}" for level in _LEVELS for n in range(1, 5)),
        ),
        "aggregationTemporality": _enum_names(
            "AGGREGATION_TEMPORALITY", "UNSPECIFIED", "DELTA", "CUMULATIVE"
        ),
    }
)
#: camelCase field name → the enum's name in the proto files.
ENUM_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "kind": "Span.SpanKind",
        "code": "Status.StatusCode",
        "severityNumber": "SeverityNumber",
        "aggregationTemporality": "AggregationTemporality",
    }
)


class Message(msgspec.Struct, rename="camel", frozen=True, gc=False, forbid_unknown_fields=True):
    """Base: read-API helpers over the fields, which default to None when unset. Unknown fields
    (proto spellings among them) send a body to ``otlp_json_tree``, which drops what is
    unknown."""

    __oneofs__: ClassVar[Oneofs] = {}

    def WhichOneof(self, group: str) -> str | None:
        for name in self.__oneofs__[group]:
            if getattr(self, name) is not None:
                return name
        return None

    def HasField(self, name: str) -> bool:
        return getattr(self, name) is not None


class AnyValue(Message, frozen=True):
    __oneofs__: ClassVar[Oneofs] = {
        "value": (
            "string_value",
            "bool_value",
            "int_value",
            "double_value",
            "array_value",
            "kvlist_value",
            "bytes_value",
        )
    }
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: I64 | None = None
    double_value: float | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None
    bytes_value: bytes | None = None


EMPTY_VALUE = AnyValue()


class KeyValue(Message, frozen=True):
    key: str = ""
    value: AnyValue = EMPTY_VALUE


class ArrayValue(Message, frozen=True):
    values: tuple[AnyValue, ...] = ()


class KeyValueList(Message, frozen=True):
    values: tuple[KeyValue, ...] = ()


Attributes = tuple[KeyValue, ...]


class Resource(Message, frozen=True):
    attributes: Attributes = ()
    dropped_attributes_count: U32 = 0


class InstrumentationScope(Message, frozen=True):
    name: str = ""
    version: str = ""
    attributes: Attributes = ()
    dropped_attributes_count: U32 = 0


EMPTY_RESOURCE = Resource()
EMPTY_SCOPE = InstrumentationScope()


# -- logs -------------------------------------------------------------------------------------
class LogRecord(Message, frozen=True):
    time_unix_nano: U64 = 0
    observed_time_unix_nano: U64 = 0
    severity_number: Enum = 0
    severity_text: str = ""
    body: AnyValue = EMPTY_VALUE
    attributes: Attributes = ()
    dropped_attributes_count: U32 = 0
    flags: U32 = 0
    trace_id: Id = ""
    span_id: Id = ""
    event_name: str = ""


class ScopeLogs(Message, frozen=True):
    scope: InstrumentationScope = EMPTY_SCOPE
    log_records: tuple[LogRecord, ...] = ()
    schema_url: str = ""


class ResourceLogs(Message, frozen=True):
    resource: Resource = EMPTY_RESOURCE
    scope_logs: tuple[ScopeLogs, ...] = ()
    schema_url: str = ""


class ExportLogsServiceRequest(Message, frozen=True):
    resource_logs: tuple[ResourceLogs, ...] = ()


# -- traces -----------------------------------------------------------------------------------
class Event(Message, frozen=True):
    time_unix_nano: U64 = 0
    name: str = ""
    attributes: Attributes = ()
    dropped_attributes_count: U32 = 0


class Link(Message, frozen=True):
    trace_id: Id = ""
    span_id: Id = ""
    trace_state: str = ""
    attributes: Attributes = ()
    dropped_attributes_count: U32 = 0
    flags: U32 = 0


class Status(Message, frozen=True):
    message: str = ""
    code: Enum = 0


class Span(Message, frozen=True):
    trace_id: Id = ""
    span_id: Id = ""
    trace_state: str = ""
    parent_span_id: Id = ""
    flags: U32 = 0
    name: str = ""
    kind: Enum = 0
    start_time_unix_nano: U64 = 0
    end_time_unix_nano: U64 = 0
    attributes: Attributes = ()
    dropped_attributes_count: U32 = 0
    events: tuple[Event, ...] = ()
    dropped_events_count: U32 = 0
    links: tuple[Link, ...] = ()
    dropped_links_count: U32 = 0
    status: Status = Status()


class ScopeSpans(Message, frozen=True):
    scope: InstrumentationScope = EMPTY_SCOPE
    spans: tuple[Span, ...] = ()
    schema_url: str = ""


class ResourceSpans(Message, frozen=True):
    resource: Resource = EMPTY_RESOURCE
    scope_spans: tuple[ScopeSpans, ...] = ()
    schema_url: str = ""


class ExportTraceServiceRequest(Message, frozen=True):
    resource_spans: tuple[ResourceSpans, ...] = ()
