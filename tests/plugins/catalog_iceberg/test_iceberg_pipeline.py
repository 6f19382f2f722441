"""End to end with catalog_mode = "iceberg" on the default sqlite catalog: OTLP/JSON requests
through the real pipeline, then every table read back through pyiceberg (filtered on service and
hour) and through DuckDB, against the Parquet files themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.cli.main import main
from support.otlp_requests import logs_request, metrics_request, traces_request

TABLES = {
    "logs": "otel_logs",
    "traces": "otel_traces",
    "metrics_gauge": "otel_metrics_gauge",
    "metrics_sum": "otel_metrics_sum",
    "metrics_histogram": "otel_metrics_histogram",
    "metrics_exponential_histogram": "otel_metrics_exponential_histogram",
    "metrics_summary": "otel_metrics_summary",
}
HOUR_10 = ("2024-05-01T10:00:00+00:00", "2024-05-01T11:00:00+00:00")


def _rows(table: pa.Table) -> list[str]:
    """Rows as sorted, comparable text (types normalised by Python values)."""
    return sorted(repr(sorted(row.items())) for row in table.to_pylist())


def duck(con: duckdb.DuckDBPyConnection, urls: str | list[str]) -> pa.Table:
    """DuckDB reading the files themselves (no hive columns added from the path)."""
    paths = [u.removeprefix("file://") for u in ([urls] if isinstance(urls, str) else urls)]
    query = "SELECT * FROM read_parquet($paths, hive_partitioning = false)"
    return con.sql(query, params={"paths": paths}).to_arrow_table()


@pytest.fixture
def ingested(tmp_path: Path) -> Any:
    cli = {"catalog_mode": ("iceberg", "test"), "storage.fs.path": (str(tmp_path), "test")}
    runtime = bootstrap(None, cli, env={}, cwd=tmp_path)
    pipeline = runtime.pipeline()
    for signal, body in (
        ("logs", logs_request()),
        ("traces", traces_request()),
        ("metrics", metrics_request()),
    ):
        result = pipeline.ingest(signal, body, "application/json")
        assert result.rejected == 0, result.message
    pipeline.flush()
    yield pipeline
    pipeline.close()


def test_every_table_reads_back_through_pyiceberg_and_duckdb(ingested: Any, tmp_path: Path) -> None:
    from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual, LessThan

    catalog = ingested.catalog
    assert catalog.status().receipts == []
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table_name in TABLES.items():
        table = catalog.table(name)
        assert table.name() == ("otlp", table_name)
        assert len(table.snapshots()) == 1, "one snapshot per flush cycle"
        time_column = catalog.schema(name).time_column
        plan = [t.file.file_path for t in table.scan().plan_files()]
        assert len(plan) == 4 == len(set(plan)), "2 services x 2 hours, each file once"
        # pyiceberg, filtered on one service and one hour.
        row_filter = And(
            EqualTo("ServiceName", "checkout"),
            And(GreaterThanOrEqual(time_column, HOUR_10[0]), LessThan(time_column, HOUR_10[1])),
        )
        scanned = table.scan(row_filter=row_filter).to_arrow()
        assert scanned.num_rows == 2, name
        [hour_file] = [
            p for p in plan if "/checkout/" in p and "/hour=10/" in p
        ]  # the layout agrees with the partition spec
        direct = duck(con, hour_file)
        assert _rows(scanned) == _rows(direct), name
        # DuckDB over every registered file equals the whole pyiceberg scan.
        everything = table.scan().to_arrow()
        assert everything.num_rows == 8
        via_duckdb = duck(con, plan)
        assert _rows(everything) == _rows(via_duckdb), name


def test_values_survive_the_round_trip(ingested: Any) -> None:
    catalog = ingested.catalog
    logs = catalog.table("logs").scan(row_filter=cart_only()).to_arrow()
    assert sorted(logs.column("Body").to_pylist())[0].startswith("cart log ")
    assert set(logs.column("TraceId").to_pylist()) == {"5b8efff798038103d269b633813fc60c"}
    spans = catalog.table("traces").scan().to_arrow()
    assert set(spans.column("Duration").to_pylist()) == {1_500_000}
    assert set(spans.column("SpanKind").to_pylist()) == {"Server"}
    gauge = catalog.table("metrics_gauge").scan().to_arrow()
    assert sorted(set(gauge.column("Value").to_pylist())) == [1.5, 2.5]
    summary = catalog.table("metrics_summary").scan().to_arrow()
    assert summary.column("ValueAtQuantiles.Quantile").to_pylist()[0] == [0.5, 1.0]
    hist = catalog.table("metrics_exponential_histogram").scan().to_arrow()
    assert hist.column("PositiveBucketCounts").to_pylist()[0] == [1, 2]


def cart_only() -> Any:
    from pyiceberg.expressions import EqualTo

    return EqualTo("ServiceName", "cart")


def test_catalog_cli_status_and_sync(
    ingested: Any, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OTLP2PARQUET_CATALOG_MODE", "iceberg")
    monkeypatch.setenv("OTLP2PARQUET_STORAGE_PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["catalog", "status"]) == 0
    out = capsys.readouterr().out
    assert "0 pending file(s)" in out and "last error: none" in out
    assert main(["catalog", "sync"]) == 0
    assert "registered 0 file(s)" in capsys.readouterr().out
    assert main(["catalog", "maintain", "--table", "logs", "--json"]) == 0
    assert '"snapshots_expired": 0' in capsys.readouterr().out


def test_catalog_down_during_ingest_then_cli_sync_commits_each_file_once(
    tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    down = tmp_path / "catalog"  # missing: sqlite cannot open the catalog
    env = {
        "OTLP2PARQUET_CATALOG_MODE": "iceberg",
        "OTLP2PARQUET_STORAGE_PATH": str(tmp_path / "data"),
        "OTLP2PARQUET_ICEBERG_URI": f"sqlite:///{down}/catalog.db",
    }
    pipeline = bootstrap(None, {}, env=env, cwd=tmp_path).pipeline()
    for signal, body in (
        ("logs", logs_request()),
        ("traces", traces_request()),
        ("metrics", metrics_request()),
    ):
        pipeline.ingest(signal, body, "application/json")
    pipeline.flush()  # the client's writes succeeded; the commit failed with a warning
    pipeline.close()
    storage = pipeline.storage
    data_files = [k for k in storage.list() if k.endswith(".parquet")]
    assert len(data_files) == 4 * len(TABLES)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    assert main(["catalog", "status", "--json"]) == 0
    status = capsys.readouterr().out
    assert status.count('"url"') == len(data_files) and "OperationalError" in status
    assert main(["catalog", "sync"]) == 1  # still down: exit 1, receipts kept
    capsys.readouterr()
    down.mkdir()  # recovery
    assert main(["catalog", "sync"]) == 0
    assert f"registered {len(data_files)} file(s)" in capsys.readouterr().out
    assert main(["catalog", "sync"]) == 0
    assert "registered 0 file(s)" in capsys.readouterr().out
    catalog = bootstrap(None, {}, env=env, cwd=tmp_path).pipeline().catalog
    registered = [
        t.file.file_path for name in TABLES for t in catalog.table(name).scan().plan_files()
    ]
    assert sorted(registered) == sorted(storage.url(k) for k in data_files)
    assert storage.list("_pending/") == []
