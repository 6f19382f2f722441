"""The exported ClickHouse DDL runs in chDB, and Parquet written from the mapped tables loads
into it, positionally (``INSERT INTO t SELECT * FROM file(...)``) and by name (``FORMAT
Parquet``), with the values read back unchanged. DuckDB reads the same files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from otlp2parquet.schema.export import clickhouse_companions, clickhouse_database
from otlp2parquet.schema.tables import (
    Column,
    TableSchema,
    clickhouse_ddl,
    list_table_schemas,
    load_table_schema,
)
from support.signal_samples import decoder, example, full_requests, mapper

chdb_session = pytest.importorskip("chdb.session")
DATABASE = "otel"
EXAMPLES = [("logs.json", "logs"), ("events.json", "logs"), ("trace.json", "traces"),
            ("metrics.json", "metrics")]  # fmt: skip


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    session = chdb_session.Session(str(tmp_path_factory.mktemp("chdb") / "db"))
    session.query(clickhouse_database(DATABASE))
    for schema in list_table_schemas():
        session.query(clickhouse_ddl(schema, database=DATABASE))
        for statement in clickhouse_companions(schema, database=DATABASE):
            session.query(statement)
    yield session
    session.close()


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    """Every table's rows from the examples and the full sample requests."""
    parts: dict[str, list[pa.Table]] = {}
    batches = [mapper(s).map(decoder("json").decode(example(n), s)) for n, s in EXAMPLES]
    batches += [mapper(s).map([r]) for s, r in full_requests().items()]
    for batch in batches:
        for name, table in batch.tables.items():
            parts.setdefault(name, []).append(table)
    return {name: pa.concat_tables(found) for name, found in parts.items()}


def query_rows(session: Any, sql: str) -> list[dict[str, Any]]:
    settings = " SETTINGS output_format_json_quote_64bit_integers = 0"
    text = session.query(sql + " FORMAT JSONEachRow" + settings).bytes().decode()
    return [json.loads(line) for line in text.splitlines() if line]


def _micros(column: Column, value: str) -> str:
    """Microseconds since the epoch of a DateTime64 or a (whole-second) DateTime."""
    if "DateTime64" in column.clickhouse:
        return f"toUnixTimestamp64Micro({value})"
    return f"toInt64(toUnixTimestamp({value})) * 1000000"


def _select(column: Column) -> str:
    """A column read back in a form that compares with Arrow's: timestamps as microseconds."""
    quoted = f"`{column.name}`"
    if column.arrow.startswith("timestamp"):
        return f"{_micros(column, quoted)} AS {quoted}"
    if column.arrow.startswith("list<timestamp"):
        return f"arrayMap(x -> {_micros(column, 'x')}, {quoted}) AS {quoted}"
    return quoted


def _seconds(values: Any) -> Any:
    """Microseconds cut to whole seconds, as a DateTime column keeps them."""
    if isinstance(values, list):
        return [_seconds(v) for v in values]
    return values - values % 1_000_000


def _expected(schema: TableSchema, table: pa.Table) -> list[dict[str, Any]]:
    columns = {}
    for column in schema.columns:
        values = table.column(column.name)
        if column.arrow.startswith("timestamp"):
            values = pc.cast(values, pa.int64())
        elif column.arrow.startswith("list<timestamp"):
            values = pc.cast(values, pa.list_(pa.int64()))
        plain = values.to_pylist()
        if "DateTime" in column.clickhouse and "DateTime64" not in column.clickhouse:
            plain = _seconds(plain)
        if column.nullable and not column.clickhouse.startswith("Nullable("):
            plain = [0 if v is None else v for v in plain]  # the table's default for null
        if "map<" in column.arrow:
            if column.arrow.startswith("list<"):
                plain = [[dict(m) for m in maps] for maps in plain]
            else:
                plain = [dict(m) for m in plain]
        columns[column.name] = plain
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def _plain(value: Any) -> Any:
    """JSON numbers compared by value: 10.0 and 10 are the same."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(_plain(r), sort_keys=True) for r in rows)


def test_exported_ddl_creates_exactly_the_schema_columns(clickhouse: Any) -> None:
    for schema in list_table_schemas():
        rows = query_rows(
            clickhouse,
            f"SELECT name, type FROM system.columns WHERE database = '{DATABASE}' "
            f"AND table = '{schema.table}' AND default_kind = '' ORDER BY position",
        )
        assert [r["name"] for r in rows] == schema.column_names
        declared = [c.clickhouse for c in schema.columns]
        assert [r["type"] for r in rows] == declared


def test_ddl_with_ttl_runs(clickhouse: Any) -> None:
    clickhouse.query(clickhouse_database("with_ttl"))
    for schema in list_table_schemas():
        clickhouse.query(clickhouse_ddl(schema, database="with_ttl", ttl="72h"))
        for statement in clickhouse_companions(schema, database="with_ttl", ttl="72h"):
            clickhouse.query(statement)
    rows = query_rows(clickhouse, "SELECT name FROM system.tables WHERE database = 'with_ttl'")
    expected = [s.table for s in list_table_schemas()]
    expected += ["otel_traces_trace_id_ts", "otel_traces_trace_id_ts_mv"]
    assert sorted(r["name"] for r in rows) == sorted(expected)


@pytest.mark.parametrize("name", [s.name for s in list_table_schemas()])
def test_parquet_loads_positionally_and_by_name(
    name: str, clickhouse: Any, tables: dict[str, pa.Table], tmp_path: Path
) -> None:
    schema = load_table_schema(name)
    table = tables[name]
    assert table.num_rows > 0
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    target = f"{DATABASE}.{schema.table}"
    clickhouse.query(f"TRUNCATE TABLE {target}")
    clickhouse.query(f"INSERT INTO {target} SELECT * FROM file('{path}', Parquet)")
    select = ", ".join(_select(c) for c in schema.columns)
    got = query_rows(clickhouse, f"SELECT {select} FROM {target}")
    assert _canonical(got) == _canonical(_expected(schema, table))
    clickhouse.query(f"TRUNCATE TABLE {target}")
    clickhouse.query(f"INSERT INTO {target} FROM INFILE '{path}' FORMAT Parquet")
    assert _canonical(query_rows(clickhouse, f"SELECT {select} FROM {target}")) == _canonical(got)


def test_duckdb_reads_the_files(tables: dict[str, pa.Table], tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "logs.parquet"
    pq.write_table(tables["logs"], path)
    connection = duckdb.connect()
    count, attributes = connection.execute(
        f"SELECT count(*), max(LogAttributes['string.attribute']) FROM read_parquet('{path}')"
    ).fetchone()
    assert count == tables["logs"].num_rows
    assert attributes == "some string"
