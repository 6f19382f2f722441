"""The schema files against the column contract (SCHEMA.md), their golden Arrow schemas and the
exports derived from them."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.schema import index_by_id

from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.export import clickhouse_companions, ttl_interval
from otlp2parquet.schema.iceberg_json import NESTED_ID_BASE
from otlp2parquet.schema.tables import (
    arrow_type,
    clickhouse_ddl,
    describe_json,
    find_table_schema,
    iceberg_schema,
    list_table_schemas,
    load_table_schema,
    parse_table_schema,
)

GOLDEN = Path(__file__).parents[1] / "data" / "golden"
MAP = ("map<string, string>", "Map(LowCardinality(String), String)")
TS = ("timestamp[us, tz=UTC]", "DateTime64(9)")
LC = "LowCardinality(String)"

# SCHEMA.md, restated independently of the schema files: (name, Arrow, ClickHouse, nullable).
LOGS = [
    ("Timestamp", *TS), ("TraceId", "string", "String"), ("SpanId", "string", "String"),
    ("TraceFlags", "int32", "UInt8"), ("SeverityText", "string", LC),
    ("SeverityNumber", "int32", "UInt8"), ("ServiceName", "string", LC),
    ("Body", "string", "String"), ("ResourceSchemaUrl", "string", LC),
    ("ResourceAttributes", *MAP), ("ScopeSchemaUrl", "string", LC),
    ("ScopeName", "string", "String"), ("ScopeVersion", "string", LC),
    ("ScopeAttributes", *MAP), ("LogAttributes", *MAP), ("EventName", "string", "String"),
]  # fmt: skip
TRACES = [
    ("Timestamp", *TS), ("TraceId", "string", "String"), ("SpanId", "string", "String"),
    ("ParentSpanId", "string", "String"), ("TraceState", "string", "String"),
    ("SpanName", "string", LC), ("SpanKind", "string", LC), ("ServiceName", "string", LC),
    ("ResourceAttributes", *MAP), ("ScopeName", "string", "String"),
    ("ScopeVersion", "string", "String"), ("SpanAttributes", *MAP),
    ("Duration", "int64", "UInt64"), ("StatusCode", "string", LC),
    ("StatusMessage", "string", "String"),
    ("Events.Timestamp", "list<timestamp[us, tz=UTC]>", "Array(DateTime64(9))"),
    ("Events.Name", "list<string>", f"Array({LC})"),
    ("Events.Attributes", "list<map<string, string>>", f"Array({MAP[1]})"),
    ("Links.TraceId", "list<string>", "Array(String)"),
    ("Links.SpanId", "list<string>", "Array(String)"),
    ("Links.TraceState", "list<string>", "Array(String)"),
    ("Links.Attributes", "list<map<string, string>>", f"Array({MAP[1]})"),
]  # fmt: skip
# metric times are DateTime (whole seconds) in the exporter's tables
SHARED = [
    ("ResourceAttributes", *MAP), ("ResourceSchemaUrl", "string", "String"),
    ("ScopeName", "string", "String"), ("ScopeVersion", "string", "String"),
    ("ScopeAttributes", *MAP), ("ScopeDroppedAttrCount", "int64", "UInt32"),
    ("ScopeSchemaUrl", "string", "String"), ("ServiceName", "string", LC),
    ("MetricName", "string", LC), ("MetricDescription", "string", "String"),
    ("MetricUnit", "string", "String"), ("Attributes", *MAP),
    ("StartTimeUnix", TS[0], "DateTime"), ("TimeUnix", TS[0], "DateTime"),
]  # fmt: skip
EXEMPLARS = [
    ("Exemplars.FilteredAttributes", "list<map<string, string>>", f"Array({MAP[1]})"),
    ("Exemplars.TimeUnix", "list<timestamp[us, tz=UTC]>", "Array(DateTime)"),
    ("Exemplars.Value", "list<float64>", "Array(Float64)"),
    ("Exemplars.SpanId", "list<string>", "Array(String)"),
    ("Exemplars.TraceId", "list<string>", "Array(String)"),
]
VALUE, FLAGS = ("Value", "float64", "Float64"), ("Flags", "int64", "UInt32")
COUNT = ("Count", "int64", "UInt64")
# nullable in Parquet (absent stays null), plain Float64 in the exporter's table (null → 0)
OPT_SUM, OPT_MIN, OPT_MAX = ((name, "float64?", "Float64") for name in ("Sum", "Min", "Max"))
TEMPORALITY = ("AggregationTemporality", "int32", "Int32")
EXPECTED = {
    "logs": LOGS,
    "traces": TRACES,
    "metrics_gauge": [*SHARED, VALUE, FLAGS, *EXEMPLARS],
    "metrics_sum": [
        *SHARED, VALUE, FLAGS, *EXEMPLARS, TEMPORALITY, ("IsMonotonic", "bool", "Bool"),
    ],
    "metrics_histogram": [
        *SHARED, COUNT, OPT_SUM, ("BucketCounts", "list<int64>", "Array(UInt64)"),
        ("ExplicitBounds", "list<float64>", "Array(Float64)"), *EXEMPLARS, FLAGS, OPT_MIN,
        OPT_MAX, TEMPORALITY,
    ],
    "metrics_exponential_histogram": [
        *SHARED, COUNT, OPT_SUM, ("Scale", "int32", "Int32"), ("ZeroCount", "int64", "UInt64"),
        ("PositiveOffset", "int32", "Int32"),
        ("PositiveBucketCounts", "list<int64>", "Array(UInt64)"),
        ("NegativeOffset", "int32", "Int32"),
        ("NegativeBucketCounts", "list<int64>", "Array(UInt64)"), *EXEMPLARS, FLAGS, OPT_MIN,
        OPT_MAX, TEMPORALITY,
    ],
    "metrics_summary": [
        *SHARED, COUNT, ("Sum", "float64", "Float64"),
        ("ValueAtQuantiles.Quantile", "list<float64>", "Array(Float64)"),
        ("ValueAtQuantiles.Value", "list<float64>", "Array(Float64)"), FLAGS,
    ],
}  # fmt: skip
TABLES = {
    "logs": ("otel_logs", "logs", "logs", "Timestamp"),
    "traces": ("otel_traces", "traces", "traces", "Timestamp"),
    **{
        f"metrics_{kind}": (f"otel_metrics_{kind}", "metrics", f"metrics/{kind}", "TimeUnix")
        for kind in ("gauge", "sum", "histogram", "exponential_histogram", "summary")
    },
}


def test_every_table_is_listed_in_order() -> None:
    assert [s.name for s in list_table_schemas()] == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_columns_follow_the_contract(name: str) -> None:
    schema = load_table_schema(name)
    declared = [
        (c.name, c.arrow + ("?" if c.nullable else ""), c.clickhouse) for c in schema.columns
    ]
    assert declared == EXPECTED[name]
    table, signal, path, time_column = TABLES[name]
    assert (schema.table, schema.signal, schema.path, schema.time_column) == (
        table, signal, path, time_column,
    )  # fmt: skip
    assert schema.service_column == "ServiceName"
    assert schema.arrow_schema.names == [c[0] for c in EXPECTED[name]]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_arrow_types_are_iceberg_and_clickhouse_friendly(name: str) -> None:
    def check(dtype: pa.DataType) -> None:
        assert not pa.types.is_unsigned_integer(dtype)
        if pa.types.is_timestamp(dtype):
            assert (dtype.unit, dtype.tz) == ("us", "UTC")
        if pa.types.is_map(dtype):
            assert dtype.key_type == pa.string() and dtype.item_type == pa.string()
            assert not dtype.item_field.nullable
        if pa.types.is_list(dtype):
            assert not dtype.value_field.nullable
            check(dtype.value_type)

    for field in load_table_schema(name).arrow_schema:
        check(field.type)
        assert field.nullable == (field.name in ("Sum", "Min", "Max") and "summary" not in name)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_arrow_schema_matches_its_golden_file(name: str) -> None:
    """An accidental schema change fails here; UPDATE_GOLDEN=1 rewrites the files."""
    text = load_table_schema(name).arrow_schema.to_string(show_schema_metadata=False) + "\n"
    golden = GOLDEN / f"{name}.arrow.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.read_text() == text


def test_shared_metric_columns_are_identical() -> None:
    metric_tables = [s for s in list_table_schemas() if s.signal == "metrics"]
    first = metric_tables[0].columns[:14]
    for schema in metric_tables[1:]:
        assert schema.columns[:14] == first, schema.name


@pytest.mark.parametrize("name", list(EXPECTED))
def test_iceberg_schema_ids_are_declared_and_stable(name: str) -> None:
    schema = load_table_schema(name)
    ice = iceberg_schema(schema)
    assert [f.name for f in ice.fields] == schema.column_names
    assert [f.field_id for f in ice.fields] == list(range(1, len(schema.columns) + 1))
    ids = [f.field_id for f in ice.fields]
    nested = [i for i in index_by_id(ice) if i not in ids]
    assert all(i > NESTED_ID_BASE for i in nested)
    assert str(iceberg_schema(schema)) == str(ice)  # deterministic
    required = {f.name: f.required for f in ice.fields}
    assert required == {c.name: not c.nullable for c in schema.columns}


def test_iceberg_types() -> None:
    ice = iceberg_schema(load_table_schema("traces"))
    assert str(ice.find_field("Timestamp").field_type) == "timestamptz"
    assert str(ice.find_field("Events.Attributes").field_type) == "list<map<string, string>>"
    assert str(ice.find_field("Duration").field_type) == "long"


def test_describe_json_lists_every_column() -> None:
    described = describe_json(load_table_schema("metrics_sum"))
    assert described["table"] == "otel_metrics_sum"
    assert described["clickhouse"]["partition_by"] == "toDate(TimeUnix)"
    assert [c["name"] for c in described["columns"]] == [c[0] for c in EXPECTED["metrics_sum"]]
    assert described["columns"][0]["source"] == "resource.attributes"


def test_clickhouse_ddl_uses_the_exporter_keys() -> None:
    ddl = clickhouse_ddl(load_table_schema("logs"), database="otel", ttl="72h")
    assert ddl.startswith("CREATE TABLE IF NOT EXISTS otel.otel_logs\n(")
    assert "PARTITION BY toDate(Timestamp)" in ddl
    assert "ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)" in ddl
    assert "PRIMARY KEY" not in ddl and "TimestampTime" not in ddl
    assert "    `TraceFlags` UInt8,\n" in ddl and "INDEX idx_lower_body lower(Body)" in ddl
    assert (
        "`__otel_materialized_k8s.pod.name` LowCardinality(String) MATERIALIZED "
        "ResourceAttributes['k8s.pod.name'] CODEC(ZSTD(1))"
    ) in ddl
    assert "TTL toDateTime(Timestamp) + toIntervalHour(72)" in ddl
    assert "ENGINE = MergeTree" in ddl and ddl.endswith(";")
    traces = clickhouse_ddl(load_table_schema("traces"))
    assert "ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))" in traces
    assert "`Events` Nested(" in traces and "TTL" not in traces
    metrics = clickhouse_ddl(load_table_schema("metrics_gauge"))
    order = "(ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)"
    assert f"ORDER BY {order}" in metrics
    assert "`MetricName` LowCardinality(String) CODEC(ZSTD(1))" in metrics
    assert "`TimeUnix` DateTime CODEC(Delta, ZSTD(1))" in metrics
    assert "INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1" in metrics
    histogram = clickhouse_ddl(load_table_schema("metrics_histogram"))
    assert "`Count` UInt64 CODEC(Delta, ZSTD(1))" in histogram
    assert "`Sum` Float64 CODEC(ZSTD(1))" in histogram and "Nullable" not in histogram


def test_traces_come_with_the_trace_id_lookup_and_its_view() -> None:
    table, view = clickhouse_companions(load_table_schema("traces"), database="otel", ttl="7d")
    assert table.startswith("CREATE TABLE IF NOT EXISTS otel.otel_traces_trace_id_ts\n(")
    assert "`Start` DateTime CODEC(Delta, ZSTD(1))" in table
    assert "ORDER BY (TraceId, Start)" in table
    assert "TTL toDateTime(Start) + toIntervalDay(7)" in table
    assert view.splitlines()[:2] == [
        "CREATE MATERIALIZED VIEW IF NOT EXISTS otel.otel_traces_trace_id_ts_mv",
        "TO otel.otel_traces_trace_id_ts",
    ]
    assert "FROM otel.otel_traces\nWHERE TraceId != ''\nGROUP BY TraceId;" in view
    assert clickhouse_companions(load_table_schema("logs")) == []


@pytest.mark.parametrize(
    ("ttl", "interval"),
    [("30d", "toIntervalDay(30)"), ("12", "toIntervalDay(12)"), ("90m", "toIntervalMinute(90)"),
     ("2w", "toIntervalWeek(2)"), ("3600s", "toIntervalSecond(3600)")],
)  # fmt: skip
def test_ttl_durations(ttl: str, interval: str) -> None:
    assert ttl_interval(ttl) == interval


@pytest.mark.parametrize("ttl", ["", "0d", "3x", "-1d", "1.5h"])
def test_bad_ttl_is_a_config_error(ttl: str) -> None:
    with pytest.raises(ConfigError, match="--ttl"):
        ttl_interval(ttl)


def test_bad_database_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="--database"):
        clickhouse_ddl(load_table_schema("logs"), database="x; DROP")


def test_tables_are_found_by_schema_or_table_name() -> None:
    assert find_table_schema("otel_traces").name == "traces"
    assert find_table_schema("metrics_summary").table == "otel_metrics_summary"
    with pytest.raises(ConfigError, match="unknown table schema 'nope'; known: logs, traces"):
        find_table_schema("nope")


def test_a_schema_file_can_be_loaded_by_path(tmp_path: Path) -> None:
    source = load_table_schema("logs").source_file
    assert source == "schemas/logs.toml"
    text = (Path(__file__).parents[2] / "schemas" / "logs.toml").read_text()
    path = tmp_path / "custom.toml"
    path.write_text(text.replace('table = "otel_logs"', 'table = "my_logs"'))
    assert load_table_schema(str(path)).table == "my_logs"
    with pytest.raises(ConfigError, match="cannot read schema file"):
        load_table_schema(str(tmp_path / "absent.toml"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("table"), "missing table"),
        (lambda d: d["columns"][0].pop("source"), "missing source"),
        (lambda d: d["columns"][0].update(arrow="uint8"), "unknown Arrow type 'uint8'"),
        (lambda d: d["columns"][1].update(id=1), "field id 1 is used twice"),
        (lambda d: d.update(time_column="When"), "time_column 'When' is not a column"),
        (lambda d: d["columns"][0].update(arrow="map<int64, string>"), "must be map<string, T>"),
    ],
)
def test_schema_file_errors_name_the_file_and_column(change, message) -> None:  # type: ignore[no-untyped-def]
    import tomllib

    data = tomllib.loads((Path(__file__).parents[2] / "schemas" / "logs.toml").read_text())
    change(data)
    with pytest.raises(ConfigError, match=message):
        parse_table_schema(data, "x.toml")


def test_arrow_type_syntax() -> None:
    assert arrow_type("list<map<string, string>>") == pa.list_(
        pa.field("element", pa.map_(pa.string(), pa.field("value", pa.string(), False)), False)
    )
    assert arrow_type("timestamp[us, tz=UTC]") == pa.timestamp("us", "UTC")
