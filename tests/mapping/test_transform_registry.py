"""The one transform registry (``mapping.registry``): every name the schema files use resolves in
it with an Arrow and a pyarrow-free form, a missing form is a configuration error naming the
transform and the form, the decorators add forms to the same entry, and the pyarrow-free forms
import without pyarrow or numpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pytest

from otlp2parquet.engine.lite.mapping import LitePlan
from otlp2parquet.engine.lite.values import lite_transform
from otlp2parquet.errors import ConfigError
from otlp2parquet.mapping import registry
from otlp2parquet.mapping.columns import ColumnPlan
from otlp2parquet.mapping.registry import REGISTRY, Transform, lookup, register, register_form
from otlp2parquet.mapping.transforms import transform
from otlp2parquet.schema.column_sources import parse_source
from otlp2parquet.schema.tables import Column, TableSchema, list_table_schemas, load_table_schema


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Transform]]:
    """A copy of the registry that a test may add to; the real one is left as it was."""
    copy = dict(REGISTRY)
    monkeypatch.setattr(registry, "REGISTRY", copy)
    yield copy


def schema_names() -> set[tuple[str, str]]:
    """(kind, name) of every transform and extractor the built-in schema files name."""
    found = set()
    for schema in list_table_schemas():
        for column in schema.columns:
            src = parse_source(column, column.type_spec.kind == "list", schema.name)
            found.add(("transform", src.transform))
            if src.extractor:
                found.add(("extractor", src.extractor))
    return found


def test_every_name_in_the_schema_files_resolves_in_the_one_registry() -> None:
    names = schema_names()
    assert {n for k, n in names if k == "extractor"} == {"number_value", "duration"}
    assert ("transform", "hex_id_padded") in names and ("transform", "attributes") in names
    for kind, name in sorted(names):
        assert REGISTRY[name].kind == kind
        for form in ("arrow", "python"):
            assert callable(lookup(name, kind, form, "test")), (name, form)  # type: ignore[arg-type]


def test_every_entry_has_an_arrow_and_a_python_form_and_its_wire_form_resolves() -> None:
    without_wire = []
    for name, entry in sorted(REGISTRY.items()):
        assert entry.name == name
        assert callable(entry.form("arrow")) and callable(entry.form("python")), name
        if entry.wire is None:
            without_wire.append(name)
        else:
            assert callable(entry.form("wire")), name
    assert without_wire == ["attribute_text"]
    python = REGISTRY["hex_id"].form("python")
    assert python is not None and python.__module__ == "otlp2parquet.engine.lite.values"


def column(transform: str = "value", source: str = "record.body.string_value") -> Column:
    return Column("X", "string", "String", False, source, {"transform": transform, "on": "record"})


def test_a_transform_without_a_pyarrow_free_form_is_refused_by_the_lite_plan(
    scratch: dict[str, Transform],
) -> None:
    register(Transform("arrow_only", arrow=lambda values, objects, dtype, plan: values))
    with pytest.raises(ConfigError) as caught:
        LitePlan(load_table_schema("logs"), column("arrow_only"))
    assert str(caught.value) == (
        "schema logs, column X: transform 'arrow_only' has no pyarrow-free form (it has: Arrow)"
    )


def test_a_transform_without_an_arrow_form_is_refused_by_the_arrow_plan(
    scratch: dict[str, Transform],
) -> None:
    register(Transform("python_only", python=lambda values, objects, plan: list(values)))
    with pytest.raises(ConfigError) as caught:
        ColumnPlan(load_table_schema("logs"), column("python_only"))
    assert str(caught.value) == (
        "schema logs, column X: transform 'python_only' has no Arrow form (it has: pyarrow-free)"
    )


def test_an_extractor_without_an_arrow_form_is_refused(scratch: dict[str, Transform]) -> None:
    register(Transform("lite_count", "extractor", python=lambda objects: [1] * len(objects)))
    with pytest.raises(ConfigError, match="extractor 'lite_count' has no Arrow form"):
        ColumnPlan(load_table_schema("logs"), column(source="extractor:lite_count"))


def test_an_unknown_transform_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        ColumnPlan(load_table_schema("logs"), column("mystery"))
    message = str(caught.value)
    assert message.startswith(
        "schema logs, column X: transform 'mystery' has no Arrow form: unknown transform (known: "
    )
    assert "hex_id, hex_id_padded" in message and "duration" not in message


def test_an_extractor_named_as_a_transform_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        LitePlan(load_table_schema("logs"), column("duration"))
    assert str(caught.value) == (
        "schema logs, column X: 'duration' is an extractor, not a transform"
    )


def test_a_form_of_the_other_kind_cannot_be_added(scratch: dict[str, Transform]) -> None:
    with pytest.raises(ValueError, match="'number_value' is registered as an extractor"):
        register_form("number_value", "transform", "python")(lambda v, o, p: list(v))


def test_the_decorators_add_forms_to_one_entry_that_both_plans_use(
    scratch: dict[str, Transform],
) -> None:
    def shout_arrow(values: Sequence[Any], objects: Any, dtype: pa.DataType, plan: Any) -> Any:
        return pa.array([v.upper() for v in values], dtype)

    def shout_python(values: Sequence[Any], objects: Any, plan: Any) -> list[Any]:
        return [v.upper() for v in values]

    transform("shout")(shout_arrow)
    lite_transform("shout")(shout_python)
    entry = scratch["shout"]
    assert (entry.kind, entry.arrow, entry.python, entry.wire) == (
        "transform",
        shout_arrow,
        shout_python,
        None,
    )
    schema: TableSchema = load_table_schema("logs")
    arrow, lite = ColumnPlan(schema, column("shout")), LitePlan(schema, column("shout"))
    assert arrow.wire_transform is None and not arrow.wired  # read from messages
    records = [type("Record", (), {"body": type("Body", (), {"string_value": s})})() for s in "ab"]
    assert arrow.values(records, {}).to_pylist() == ["A", "B"]
    assert lite.values(records) == ["A", "B"]


def test_the_python_forms_import_without_pyarrow_or_numpy() -> None:
    script = textwrap.dedent(
        """
        import sys

        class Refuse:
            def find_spec(self, name, path, target=None):
                if name.partition(".")[0] in ("pyarrow", "numpy"):
                    raise ImportError(f"{name} is blocked")

        sys.meta_path.insert(0, Refuse())
        from otlp2parquet.mapping.registry import REGISTRY
        from otlp2parquet.engine.lite.mapping import LitePlan

        forms = [entry.form("python") for entry in REGISTRY.values()]
        assert all(callable(form) for form in forms), forms
        print(len(forms), "pyarrow" in sys.modules, "numpy" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(REGISTRY)), "False", "False"]
