"""Metrics without pyarrow: one row per data point, one table per metric type, with the
rejections of ``plugins/map_metrics.py`` (a metric without data or data points, a gauge or sum
point without a value)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from otlp2parquet.engine.lite.mapping import LiteTablePlan, Rows
from otlp2parquet.schema.metric_kinds import KINDS, LEVELS, NUMBER_KINDS, tables_by_kind
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import MappedBatch


@dataclass
class _Points:
    metrics: list[Any] = field(default_factory=list)
    points: list[Any] = field(default_factory=list)
    resource_index: list[int] = field(default_factory=list)
    scope_index: list[int] = field(default_factory=list)
    metric_index: list[int] = field(default_factory=list)


class LiteMetricsMapper:
    """Fills the metric tables from their lite plans."""

    signal = "metrics"

    def __init__(self, schemas: Mapping[str, TableSchema]) -> None:
        self.plans = {
            kind: (name, LiteTablePlan(schema, LEVELS))
            for kind, (name, schema) in tables_by_kind(schemas).items()
        }

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        batch = MappedBatch()
        resource_groups: list[Any] = []
        scope_groups: list[Any] = []
        collected = {kind: _Points() for kind in KINDS}
        for request in requests:
            for resource_group in request.resource_metrics:
                resource_groups.append(resource_group)
                for scope_group in resource_group.scope_metrics:
                    scope_groups.append(scope_group)
                    for metric in scope_group.metrics:
                        where = (len(resource_groups) - 1, len(scope_groups) - 1)
                        self._collect(metric, where, batch, collected)
        for kind in KINDS:
            found = collected[kind]
            if not found.points:
                continue
            name, plan = self.plans[kind]
            rows = Rows(
                "point",
                {
                    "resource_group": resource_groups,
                    "scope_group": scope_groups,
                    "metric": found.metrics,
                    "point": found.points,
                },
                {
                    "resource_group": found.resource_index,
                    "scope_group": found.scope_index,
                    "metric": found.metric_index,
                },
            )
            batch.tables[name] = cast(Any, plan.build(rows))  # a LiteTable
        return batch

    def _collect(
        self,
        metric: Any,
        where: tuple[int, int],
        batch: MappedBatch,
        collected: dict[str, _Points],
    ) -> None:
        kind = metric.WhichOneof("data")
        points = list(getattr(metric, kind).data_points) if kind else []
        if kind is None:
            batch.reject(1, f"metric {metric.name!r} has no data")
            return
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
        found.metric_index.extend([len(found.metrics)] * len(points))
        found.metrics.append(metric)
        found.points.extend(points)
        found.resource_index.extend([where[0]] * len(points))
        found.scope_index.extend([where[1]] * len(points))
