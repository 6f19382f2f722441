"""The metric tables: one per OTLP metric data type, named by the last segment of a schema's
``path`` (``metrics/gauge``, ...), with the levels their column sources refer to. Shared by the
Arrow metrics mapper (``plugins/map_metrics.py``) and the pyarrow-free one (``lite.metrics``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from otlp2parquet.errors import ConfigError

if TYPE_CHECKING:
    from otlp2parquet.schema.tables import TableSchema

KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")
NUMBER_KINDS = frozenset({"gauge", "sum"})
LEVELS = ("resource_group", "scope_group", "metric", "point")


def tables_by_kind(schemas: Mapping[str, TableSchema]) -> dict[str, tuple[str, TableSchema]]:
    """Metric type → (schema name, schema); ConfigError for a path naming no metric type."""
    found = {}
    for name, schema in schemas.items():
        kind = schema.path.rpartition("/")[2]
        if kind not in KINDS:
            raise ConfigError(
                f"schema {name}: path {schema.path!r} names no metric type ({', '.join(KINDS)})"
            )
        found[kind] = (name, schema)
    return found
