"""Schema mapper for metrics: ExportMetricsServiceRequest → one row per data point, in one table
per metric type (gauge, sum, histogram, exponential_histogram, summary), by the rules of
``mapping.metric_rules`` (shared with the pyarrow-free engine): which points become rows, and
which are rejected with what reason.

Protobuf requests are read as record views: each metric type's data points stay serialized and
become ``WireRows``; columns that every present table declares alike are built once over the
points of all of them when they share one message type (always, for JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl
from otlp2parquet.mapping.metric_rules import POINT_TYPES, Entry, Points, accept, walk
from otlp2parquet.mapping.wire.protoview import as_record_views, as_views
from otlp2parquet.plugin.registry import Register
from otlp2parquet.schema.metric_kinds import KINDS, LEVELS, NUMBER_KINDS, tables_by_kind
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import MappedBatch

if TYPE_CHECKING:  # numpy and pyarrow are imported on use: registering needs neither (lite path)
    from otlp2parquet.mapping.columns import Rows
    from otlp2parquet.mapping.wire.rows import WireRows


@dataclass
class _Points(Points):
    """The data points of one metric type, as Arrow rows."""

    point_type: str = ""  # serialized points of this message type (protobuf); objects if ""
    wire: WireRows | None = None  # ``points`` as wire rows, when already built

    def rows(self, resource_groups: list[Any], scope_groups: list[Any]) -> Rows:
        import numpy as np

        from otlp2parquet.mapping.columns import Rows
        from otlp2parquet.mapping.wire.rows import WireRows, descriptor

        counts = self.counts
        points: Sequence[Any] = self.points
        if self.point_type:
            if self.wire is None or len(self.wire) != len(points):
                self.wire = WireRows.from_bytes(self.points, descriptor(self.point_type))
            points = self.wire
        return Rows(
            "point",
            {
                "resource_group": resource_groups,
                "scope_group": scope_groups,
                "metric": self.metrics,
                "point": points,
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
    reads_bodies = True  # see RecordMapper.reads_bodies

    def __init__(self, schemas: Mapping[str, TableSchema]) -> None:
        from otlp2parquet.mapping.columns import TablePlan

        self.plans = {
            kind: (name, TablePlan(schema, LEVELS))
            for kind, (name, schema) in tables_by_kind(schemas).items()
        }
        self.signatures = {
            kind: {
                column.name: (column.cache_key, _value_options(column.options))
                for column in plan.columns
            }
            for kind, (_, plan) in self.plans.items()
        }

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        batch = MappedBatch()
        views = as_record_views(requests)
        wire = views is not None
        walked = walk(views if views is not None else as_views(requests))
        resource_groups, scope_groups = walked.resource_groups, walked.scope_groups
        collected = {kind: _Points(point_type=POINT_TYPES[kind] if wire else "") for kind in KINDS}
        has_value = self._has_value(walked.entries, collected) if wire else {}
        for entry in walked.entries:
            kind = entry[1]
            points = accept(entry, self.plans, batch, has_value.get(kind) if kind else None)
            if kind and points:
                collected[kind].add(entry, points)
        present = [kind for kind in KINDS if collected[kind].points]
        cache: dict[Any, Any] = {}
        shared = self._shared_columns(present, collected, resource_groups, scope_groups, cache)
        start = 0
        for kind in present:
            found = collected[kind]
            count = len(found.points)
            given = {name: column.slice(start, count) for name, column in shared.items()}
            start += count
            name, plan = self.plans[kind]
            batch.tables[name] = plan.build(found.rows(resource_groups, scope_groups), cache, given)
        return batch

    def _has_value(
        self,
        entries: list[Entry],
        collected: dict[str, _Points],
    ) -> dict[str, Any]:
        """For serialized gauge and sum points: whether each has a value (in entry order, per
        type); the rows built to find out are kept for the table when no point is dropped."""
        import numpy as np

        from otlp2parquet.mapping.wire.rows import WireRows, descriptor

        found: dict[str, Any] = {}
        for kind in NUMBER_KINDS & self.plans.keys():
            points = [p for _, k, points, _, _ in entries if k == kind for p in points]
            if not points:
                continue
            rows = WireRows.from_bytes(points, descriptor(POINT_TYPES[kind]))
            scan = rows.scan()
            has = np.zeros(len(rows), bool)
            for member in ("as_double", "as_int"):
                number = rows.number_of(rows.field(member))
                has[scan.message[scan.occurrences(number, (1,), repeated=True)]] = True
            found[kind] = iter(has.tolist())
            collected[kind].wire = rows
        return found

    def _shared_columns(
        self,
        present: list[str],
        collected: dict[str, _Points],
        resource_groups: list[Any],
        scope_groups: list[Any],
        cache: dict[Any, Any],
    ) -> dict[str, Any]:
        """The columns every present table declares alike (resource, scope, metric, attributes,
        times, exemplars), built once over the points of all of them, kind after kind."""
        if len(present) < 2:
            return {}
        import numpy as np

        from otlp2parquet.mapping.wire.mixed import MixedRows
        from otlp2parquet.mapping.wire.rows import WireRows, descriptor

        first = self.signatures[present[0]]
        names = [
            name
            for name, signature in first.items()
            if all(self.signatures[kind].get(name) == signature for kind in present[1:])
        ]
        combined = _Points()
        for kind in present:
            combined.extend(collected[kind])
        rows = combined.rows(resource_groups, scope_groups)
        if collected[present[0]].point_type:  # serialized: rows of each point type
            type_names = sorted({POINT_TYPES[kind] for kind in present})
            sizes = [len(collected[kind].points) for kind in present]
            types = np.repeat([type_names.index(POINT_TYPES[kind]) for kind in present], sizes)
            descriptors = [descriptor(name) for name in type_names]
            if len(descriptors) == 1:
                rows.objects["point"] = WireRows.from_bytes(combined.points, descriptors[0])
            else:
                rows.objects["point"] = MixedRows(combined.points, types, descriptors)
        return self.plans[present[0]][1].columns_for(rows, names, cache)


def _value_options(options: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A column's options that affect its values (not its field id or ClickHouse codec)."""
    return tuple(sorted((k, repr(v)) for k, v in options.items() if k not in ("id", "codec")))


@hookimpl
def register_schema_mappers(register: Register) -> None:
    register(
        name="metrics",
        factory=MetricsMapper,
        signal="metrics",
        tables=[f"metrics_{k}" for k in KINDS],
    )
