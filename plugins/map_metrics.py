"""Schema mapper for metrics: ExportMetricsServiceRequest → one row per data point, in one table
per metric type (gauge, sum, histogram, exponential_histogram, summary).

Unusable records are rejected, not fatal: a metric without data or data points, and a gauge or
sum data point without a value, are counted with a reason (OTLP ``partial_success``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from otlp2parquet import hookimpl
from otlp2parquet.columns import Rows, TablePlan
from otlp2parquet.errors import ConfigError
from otlp2parquet.protoview import as_views
from otlp2parquet.registry import Register
from otlp2parquet.schema import TableSchema
from otlp2parquet.types import MappedBatch

KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")
NUMBER_KINDS = frozenset({"gauge", "sum"})
LEVELS = ("resource_group", "scope_group", "metric", "point")


@dataclass
class _Points:
    """The data points of one metric type, with each metric's groups."""

    metrics: list[Any] = field(default_factory=list)
    points: list[Any] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    resource_index: list[int] = field(default_factory=list)
    scope_index: list[int] = field(default_factory=list)

    def rows(self, resource_groups: list[Any], scope_groups: list[Any]) -> Rows:
        counts = self.counts
        return Rows(
            "point",
            {
                "resource_group": resource_groups,
                "scope_group": scope_groups,
                "metric": self.metrics,
                "point": self.points,
            },
            {
                "resource_group": np.repeat(np.asarray(self.resource_index, np.int64), counts),
                "scope_group": np.repeat(np.asarray(self.scope_index, np.int64), counts),
                "metric": np.repeat(np.arange(len(counts), dtype=np.int64), counts),
            },
        )


class MetricsMapper:
    """Fills the metric tables from their schema files' extraction plans."""

    signal = "metrics"

    def __init__(self, schemas: Mapping[str, TableSchema]) -> None:
        self.plans: dict[str, tuple[str, TablePlan]] = {}
        for name, schema in schemas.items():
            kind = schema.path.rpartition("/")[2]
            if kind not in KINDS:
                raise ConfigError(
                    f"schema {name}: path {schema.path!r} names no metric type ({', '.join(KINDS)})"
                )
            self.plans[kind] = (name, TablePlan(schema, LEVELS))

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        batch = MappedBatch()
        resource_groups: list[Any] = []
        scope_groups: list[Any] = []
        collected = {kind: _Points() for kind in KINDS}
        for request in as_views(requests):
            for resource_group in request.resource_metrics:
                resource_groups.append(resource_group)
                for scope_group in resource_group.scope_metrics:
                    scope_groups.append(scope_group)
                    for metric in scope_group.metrics:
                        self._collect(metric, batch, collected, resource_groups, scope_groups)
        cache: dict[Any, Any] = {}
        for kind, found in collected.items():
            if found.points:
                name, plan = self.plans[kind]
                batch.tables[name] = plan.build(found.rows(resource_groups, scope_groups), cache)
        return batch

    def _collect(
        self,
        metric: Any,
        batch: MappedBatch,
        collected: dict[str, _Points],
        resource_groups: list[Any],
        scope_groups: list[Any],
    ) -> None:
        kind = metric.WhichOneof("data")
        if kind is None:
            batch.reject(1, f"metric {metric.name!r} has no data")
            return
        points = getattr(metric, kind).data_points
        if not points:
            batch.reject(1, f"metric {metric.name!r} ({kind}) has no data points")
            return
        if kind not in self.plans:
            batch.reject(len(points), f"no table for {kind} metrics")
            return
        if kind in NUMBER_KINDS:
            valid = [p for p in points if p.WhichOneof("value")]
            if len(valid) < len(points):
                batch.reject(
                    len(points) - len(valid),
                    f"metric {metric.name!r} ({kind}) has data points with no value",
                )
                if not valid:
                    return
                points = valid
        found = collected[kind]
        found.metrics.append(metric)
        found.points.extend(points)
        found.counts.append(len(points))
        found.resource_index.append(len(resource_groups) - 1)
        found.scope_index.append(len(scope_groups) - 1)


@hookimpl
def register_schema_mappers(register: Register) -> None:
    register(
        name="metrics",
        factory=MetricsMapper,
        signal="metrics",
        tables=[f"metrics_{k}" for k in KINDS],
    )
