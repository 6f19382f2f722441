"""The rules that turn metrics into rows, once, for both table engines (pyarrow-free): which
metrics and data points become rows, in which table (one per data type, ``schema.metric_kinds``),
and which are rejected with what reason. The field mapping of each table (values, flags,
exemplars, temporality, monotonic ...) is declared in its schema file. Each engine builds only
its own columns from what ``walk`` and ``accept`` give: ``plugins/map_metrics.py`` (Arrow) and
``engine/lite/metrics.py`` (pure Python).

Rejected, not fatal (counted with a reason, OTLP ``partial_success``): a metric without data, a
metric without data points, the points of a type no table is configured for, and a gauge or sum
data point without a value.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from otlp2parquet.schema.metric_kinds import NUMBER_KINDS
from otlp2parquet.types import MappedBatch

_V1 = "opentelemetry.proto.metrics.v1."
#: the protobuf message of each data type's data points
POINT_TYPES = {
    "gauge": _V1 + "NumberDataPoint",
    "sum": _V1 + "NumberDataPoint",
    "histogram": _V1 + "HistogramDataPoint",
    "exponential_histogram": _V1 + "ExponentialHistogramDataPoint",
    "summary": _V1 + "SummaryDataPoint",
}
#: (metric, its data type, its data points, resource group index, scope group index)
Entry = tuple[Any, str | None, list[Any], int, int]


@dataclass
class MetricWalk:
    """Every metric of some requests in order, with the resource and scope groups around them."""

    resource_groups: list[Any] = field(default_factory=list)
    scope_groups: list[Any] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


def walk(requests: Iterable[Any]) -> MetricWalk:
    """Requests → resource groups → scope groups → metrics, each with its data type (the
    ``data`` oneof member set, None if none) and data points."""
    found = MetricWalk()
    resource_groups, scope_groups, entries = (
        found.resource_groups,
        found.scope_groups,
        found.entries,
    )
    for request in requests:
        for resource_group in request.resource_metrics:
            resource_groups.append(resource_group)
            for scope_group in resource_group.scope_metrics:
                scope_groups.append(scope_group)
                for metric in scope_group.metrics:
                    kind = metric.WhichOneof("data")
                    points = list(getattr(metric, kind).data_points) if kind else []
                    where = (len(resource_groups) - 1, len(scope_groups) - 1)
                    entries.append((metric, kind, points, *where))
    return found


def accept(
    entry: Entry,
    tables: Container[str],
    batch: MappedBatch,
    has_value: Iterator[bool] | None = None,
) -> list[Any]:
    """The data points of ``entry`` that become rows of its type's table (one of ``tables``);
    the others are rejected on ``batch`` with the reason. ``has_value`` gives, for gauge and
    sum points read in bulk, whether each has a value (one flag per point, in entry order);
    without it each point's ``value`` oneof is asked."""
    metric, kind, points, _, _ = entry
    if kind is None:
        batch.reject(1, f"metric {metric.name!r} has no data")
        return []
    if not points:
        batch.reject(1, f"metric {metric.name!r} ({kind}) has no data points")
        return []
    if kind not in tables:
        batch.reject(len(points), f"no table for {kind} metrics")
        return []
    if kind in NUMBER_KINDS:
        if has_value is not None:
            flags = [next(has_value) for _ in points]
        else:
            flags = [bool(p.WhichOneof("value")) for p in points]
        if not all(flags):
            valid = [p for p, ok in zip(points, flags, strict=True) if ok]
            batch.reject(
                len(points) - len(valid),
                f"metric {metric.name!r} ({kind}) has data points with no value",
            )
            return valid
    return points


@dataclass
class Points:
    """The accepted data points of one data type, with each metric's groups: the rows of its
    table, metric after metric."""

    metrics: list[Any] = field(default_factory=list)
    points: list[Any] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # points per metric
    resource_index: list[int] = field(default_factory=list)  # per metric
    scope_index: list[int] = field(default_factory=list)  # per metric

    def add(self, entry: Entry, points: list[Any]) -> None:
        """``points`` (accepted of ``entry``) as the rows of its metric."""
        metric, _, _, resource_index, scope_index = entry
        self.metrics.append(metric)
        self.points.extend(points)
        self.counts.append(len(points))
        self.resource_index.append(resource_index)
        self.scope_index.append(scope_index)

    def extend(self, other: Points) -> None:
        self.metrics.extend(other.metrics)
        self.points.extend(other.points)
        self.counts.extend(other.counts)
        self.resource_index.extend(other.resource_index)
        self.scope_index.extend(other.scope_index)
