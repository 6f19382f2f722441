"""``otlp2parquet schema show|export`` and the registration of the signal plugins."""

from __future__ import annotations

import json

import pytest

from otlp2parquet.cli.main import main
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.schema.export import EXPORTER_VERSION
from otlp2parquet.schema.tables import list_table_schemas

TABLES = [s.table for s in list_table_schemas()]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["schema", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_show_lists_every_table_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "show")
    assert status == 0
    for schema in list_table_schemas():
        assert f"{schema.table} ({schema.name}, {schema.signal}" in out
        for column in schema.columns:
            assert f" {column.name} " in out
    status, out, _ = run(capsys, "show", "--table", "otel_traces")
    assert out.startswith("otel_traces (traces, traces, version 1): 22 columns")
    assert "Events.Attributes" in out and "record.events[].attributes (attributes)" in out


def test_export_clickhouse(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "export", "--database", "otel", "--ttl", "30d")
    assert status == 0
    header, database, _ = out.split("\n\n", 2)
    assert header == (
        f"-- ClickHouse tables of the OpenTelemetry Collector ClickHouse exporter "
        f"(clickhouseexporter) {EXPORTER_VERSION},\n"
        "-- written by otlp2parquet schema export; our Parquet files load into them positionally."
    )
    assert EXPORTER_VERSION == "v0.162.0"
    assert database == "CREATE DATABASE IF NOT EXISTS otel;"
    created = [line for line in out.splitlines() if line.startswith("CREATE ")]
    lookup = ["CREATE TABLE IF NOT EXISTS otel.otel_traces_trace_id_ts",
              "CREATE MATERIALIZED VIEW IF NOT EXISTS otel.otel_traces_trace_id_ts_mv"]  # fmt: skip
    expected = [f"CREATE TABLE IF NOT EXISTS otel.{table}" for table in TABLES]
    at = expected.index("CREATE TABLE IF NOT EXISTS otel.otel_traces") + 1
    assert created == [
        "CREATE DATABASE IF NOT EXISTS otel;",
        *expected[:at],
        *lookup,
        *expected[at:],
    ]
    assert out.count("TTL ") == len(TABLES) + 1  # and the lookup table
    status, out, _ = run(capsys, "export", "--format", "clickhouse", "--table", "logs")
    assert out.count("CREATE TABLE IF NOT EXISTS otel_logs\n") == 1 and "TTL" not in out
    assert out.startswith("-- ClickHouse tables") and "MATERIALIZED VIEW" not in out


def test_export_arrow_iceberg_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "export", "--format", "arrow", "--table", "metrics_sum")
    assert status == 0 and out.startswith("-- otel_metrics_sum\nResourceAttributes: map<string,")
    status, out, _ = run(capsys, "export", "--format", "iceberg")
    assert status == 0 and out.count("table {") == len(TABLES)
    assert "1: Timestamp: required timestamptz" in out
    status, out, _ = run(capsys, "export", "--format", "json")
    described = json.loads(out)
    assert [d["table"] for d in described] == TABLES
    assert described[0]["columns"][0] == {
        "name": "Timestamp", "arrow": "timestamp[us, tz=UTC]", "clickhouse": "DateTime64(9)",
        "nullable": False, "source": "record.time_unix_nano", "id": 1,
        "codec": "Delta, ZSTD(1)", "transform": "timestamp",
        "fallback": "record.observed_time_unix_nano",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "--table", "nope"], "unknown table schema 'nope'; known: logs, traces"),
        (["export", "--ttl", "soon"], "--ttl 'soon' is not a duration"),
        (["export", "--database", "a-b"], "--database 'a-b' is not a plain ClickHouse identifier"),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith("otlp2parquet: error: ") and message in err
    assert "Traceback" not in err


def test_signal_plugins_register_their_components() -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    decoders = {c.name: (c.plugin, c.meta["media_types"]) for c in registry.all("decoder")}
    assert decoders["protobuf"] == (
        "decode_protobuf", ("application/x-protobuf", "application/protobuf"),
    )  # fmt: skip
    assert decoders["json"] == ("decode_json", ("application/json",))
    assert decoders["jsonl"] == ("decode_json", ("application/x-ndjson", "application/jsonl"))
    mappers = {c.name: (c.plugin, c.meta["signal"], c.meta["tables"])
               for c in registry.all("schema_mapper")}  # fmt: skip
    assert mappers["logs"] == ("map_logs", "logs", ["logs"])
    assert mappers["traces"] == ("map_traces", "traces", ["traces"])
    assert mappers["metrics"] == (
        "map_metrics", "metrics",
        ["metrics_gauge", "metrics_sum", "metrics_histogram", "metrics_exponential_histogram",
         "metrics_summary"],
    )  # fmt: skip
