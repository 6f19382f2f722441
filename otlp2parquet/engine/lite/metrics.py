"""Metrics without pyarrow: one row per data point, one table per metric type, by the rules of
``mapping.metric_rules`` (shared with ``plugins/map_metrics.py``): which points become rows and
which are rejected with what reason; this module builds only the lite tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from otlp2parquet.engine.lite.mapping import LiteTablePlan, Rows
from otlp2parquet.mapping.metric_rules import Points, accept, walk
from otlp2parquet.schema.metric_kinds import KINDS, LEVELS, tables_by_kind
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import MappedBatch


def _repeat(values: Sequence[int], counts: Sequence[int]) -> list[int]:
    """Each value ``count`` times, in order."""
    return [value for value, count in zip(values, counts, strict=True) for _ in range(count)]


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
        walked = walk(requests)
        collected = {kind: Points() for kind in KINDS}
        for entry in walked.entries:
            kind = entry[1]
            points = accept(entry, self.plans, batch)
            if kind and points:
                collected[kind].add(entry, points)
        for kind in KINDS:
            found = collected[kind]
            if not found.points:
                continue
            name, plan = self.plans[kind]
            counts = found.counts
            rows = Rows(
                "point",
                {
                    "resource_group": walked.resource_groups,
                    "scope_group": walked.scope_groups,
                    "metric": found.metrics,
                    "point": found.points,
                },
                {
                    "resource_group": _repeat(found.resource_index, counts),
                    "scope_group": _repeat(found.scope_index, counts),
                    "metric": _repeat(range(len(counts)), counts),
                },
            )
            batch.tables[name] = cast(Any, plan.build(rows))  # a LiteTable
        return batch
