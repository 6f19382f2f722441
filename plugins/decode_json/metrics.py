"""OTLP/JSON metrics messages as msgspec structs (see ``otlp_json`` for the conventions)."""

from __future__ import annotations

from typing import ClassVar

from .messages import (
    EMPTY_RESOURCE,
    EMPTY_SCOPE,
    I32,
    I64,
    U32,
    U64,
    Attributes,
    Enum,
    Id,
    InstrumentationScope,
    Message,
    Oneofs,
    Resource,
)


class Exemplar(Message, frozen=True):
    __oneofs__: ClassVar[Oneofs] = {"value": ("as_double", "as_int")}
    filtered_attributes: Attributes = ()
    time_unix_nano: U64 = 0
    as_double: float | None = None
    as_int: I64 | None = None
    span_id: Id = ""
    trace_id: Id = ""


class NumberDataPoint(Message, frozen=True):
    __oneofs__: ClassVar[Oneofs] = {"value": ("as_double", "as_int")}
    attributes: Attributes = ()
    start_time_unix_nano: U64 = 0
    time_unix_nano: U64 = 0
    as_double: float | None = None
    as_int: I64 | None = None
    exemplars: tuple[Exemplar, ...] = ()
    flags: U32 = 0


class HistogramDataPoint(Message, frozen=True):
    attributes: Attributes = ()
    start_time_unix_nano: U64 = 0
    time_unix_nano: U64 = 0
    count: U64 = 0
    sum: float | None = None
    bucket_counts: tuple[U64, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    exemplars: tuple[Exemplar, ...] = ()
    flags: U32 = 0
    min: float | None = None
    max: float | None = None


class Buckets(Message, frozen=True):
    offset: I32 = 0
    bucket_counts: tuple[U64, ...] = ()


class ExponentialHistogramDataPoint(Message, frozen=True):
    attributes: Attributes = ()
    start_time_unix_nano: U64 = 0
    time_unix_nano: U64 = 0
    count: U64 = 0
    sum: float | None = None
    scale: I32 = 0
    zero_count: U64 = 0
    positive: Buckets = Buckets()
    negative: Buckets = Buckets()
    flags: U32 = 0
    exemplars: tuple[Exemplar, ...] = ()
    min: float | None = None
    max: float | None = None
    zero_threshold: float = 0.0


class ValueAtQuantile(Message, frozen=True):
    quantile: float = 0.0
    value: float = 0.0


class SummaryDataPoint(Message, frozen=True):
    attributes: Attributes = ()
    start_time_unix_nano: U64 = 0
    time_unix_nano: U64 = 0
    count: U64 = 0
    sum: float = 0.0
    quantile_values: tuple[ValueAtQuantile, ...] = ()
    flags: U32 = 0


class Gauge(Message, frozen=True):
    data_points: tuple[NumberDataPoint, ...] = ()


class Sum(Message, frozen=True):
    data_points: tuple[NumberDataPoint, ...] = ()
    aggregation_temporality: Enum = 0
    is_monotonic: bool = False


class Histogram(Message, frozen=True):
    data_points: tuple[HistogramDataPoint, ...] = ()
    aggregation_temporality: Enum = 0


class ExponentialHistogram(Message, frozen=True):
    data_points: tuple[ExponentialHistogramDataPoint, ...] = ()
    aggregation_temporality: Enum = 0


class Summary(Message, frozen=True):
    data_points: tuple[SummaryDataPoint, ...] = ()


class Metric(Message, frozen=True):
    __oneofs__: ClassVar[Oneofs] = {
        "data": ("gauge", "sum", "histogram", "exponential_histogram", "summary")
    }
    name: str = ""
    description: str = ""
    unit: str = ""
    gauge: Gauge | None = None
    sum: Sum | None = None
    histogram: Histogram | None = None
    exponential_histogram: ExponentialHistogram | None = None
    summary: Summary | None = None
    metadata: Attributes = ()


class ScopeMetrics(Message, frozen=True):
    scope: InstrumentationScope = EMPTY_SCOPE
    metrics: tuple[Metric, ...] = ()
    schema_url: str = ""


class ResourceMetrics(Message, frozen=True):
    resource: Resource = EMPTY_RESOURCE
    scope_metrics: tuple[ScopeMetrics, ...] = ()
    schema_url: str = ""


class ExportMetricsServiceRequest(Message, frozen=True):
    resource_metrics: tuple[ResourceMetrics, ...] = ()
