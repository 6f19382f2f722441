"""One table plan for both engines: the Arrow and the pure-Python column plans read every column
of every shipped schema the same way (level, paths, fallback, expansion), the level check names
the column, and the walk keeps only scope groups holding records."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from otlp2parquet.engine.lite.mapping import LitePlan
from otlp2parquet.errors import ConfigError
from otlp2parquet.mapping.columns import ColumnPlan
from otlp2parquet.schema.table_plan import RECORD_LEVELS, ColumnSpec, check_levels, walk_groups
from otlp2parquet.schema.tables import load_table_schema

SCHEMAS = sorted(p.stem for p in (Path(__file__).parents[2] / "schemas").glob("*.toml"))
READ = ("level", "list_path", "list_parts", "value_path", "leaf", "fallback_path", "expand")


@pytest.mark.parametrize("name", SCHEMAS)
def test_both_engines_read_every_column_alike(name: str) -> None:
    schema = load_table_schema(name)
    assert schema.columns
    for column in schema.columns:
        arrow, lite = ColumnPlan(schema, column), LitePlan(schema, column)
        assert arrow.is_list == lite.is_list, column.name
        assert [getattr(arrow, a) for a in READ] == [getattr(lite, a) for a in READ], column.name
        assert arrow.source == lite.source


def test_an_unknown_level_names_the_column() -> None:
    schema = load_table_schema("logs")
    specs = [ColumnSpec(schema, c, False) for c in schema.columns if c.type_spec.kind != "list"]
    with pytest.raises(ConfigError, match=r"schema logs, column \w+: unknown level 'record'"):
        check_levels(schema, specs, ("resource_group", "scope_group"))
    check_levels(schema, specs, RECORD_LEVELS)


def test_the_walk_keeps_scope_groups_with_records() -> None:
    def scope(*records: str) -> SimpleNamespace:
        return SimpleNamespace(log_records=list(records))

    resources = [
        SimpleNamespace(scope_logs=[scope("a", "b"), scope()]),
        SimpleNamespace(scope_logs=[scope()]),
        SimpleNamespace(scope_logs=[scope("c")]),
    ]
    request = SimpleNamespace(resource_logs=resources)
    groups = walk_groups([request], "resource_logs", "scope_logs", "log_records")
    assert groups.records == ["a", "b", "c"]
    assert groups.scope_resource == [0, 2] and groups.counts == [2, 1]
    assert len(groups.resource_groups) == 3 and len(groups.scope_groups) == 2
