"""``otlp2parquet query``: real queries over files the pipeline wrote from the official OTLP
examples. DuckDB views over a local lake and over S3 (moto, through fsspec: no extension
download), the shell, and the ClickHouse File- and S3-engine statements executed in chDB."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet.cli.main import main
from otlp2parquet.query.duckdb import s3_secret_sql
from support.s3 import S3_KEY, S3_REGION, S3_SECRET

EXAMPLES = Path(__file__).parents[1] / "data" / "otlp-examples"
TRACE_ID, SPAN_ID = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def json_rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OTLP examples converted by the real pipeline into a local lake."""
    root = tmp_path_factory.mktemp("lake") / "data"
    assert main(["convert", "--no-progress", "-o", str(root), str(EXAMPLES)]) == 0
    return root


def test_duckdb_views_read_the_golden_values(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = (
        "SELECT TraceId, SpanId, SeverityNumber, SeverityText, ServiceName, "
        "LogAttributes['int.attribute'] AS n, strftime(Timestamp, '%Y-%m-%dT%H:%M:%S') AS t "
        "FROM otel_logs WHERE Body = 'Example log record'"
    )
    status, out, err = run(
        capsys, "query", "duckdb", "-o", str(lake), "--format", "json", "-c", sql
    )
    assert status == 0, err
    assert json_rows(out) == [
        {
            "TraceId": TRACE_ID,
            "SpanId": SPAN_ID,
            "SeverityNumber": 10,
            "SeverityText": "Information",
            "ServiceName": "my.service",
            "n": "10",
            "t": "2018-12-13T14:51:00",
        }
    ]
    counts = " UNION ALL ".join(
        f"SELECT '{t}' AS t, count(*) AS n FROM otel_{t}"
        for t in ("logs", "traces", "metrics_sum", "metrics_gauge", "metrics_histogram",
                  "metrics_exponential_histogram", "metrics_summary")
    )  # fmt: skip
    traces = 'SELECT SpanKind, Duration, ParentSpanId, len("Events.Name") AS e FROM otel_traces'
    status, out, _ = run(
        capsys, "query", "duckdb", "-o", str(lake), "--format", "csv", "-c", counts, "-c", traces
    )
    assert status == 0
    assert out.splitlines() == [
        "t,n",
        "logs,2",
        "traces,1",
        "metrics_sum,1",
        "metrics_gauge,1",
        "metrics_histogram,1",
        "metrics_exponential_histogram,1",
        "metrics_summary,0",
        "SpanKind,Duration,ParentSpanId,e",
        "Server,1000000000,eee19b7ec3c1b173,0",
    ]


def test_an_empty_table_is_a_typed_empty_view(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    describe = "SELECT column_name, column_type FROM (DESCRIBE otel_metrics_summary)"
    status, out, _ = run(
        capsys, "query", "duckdb", "-o", str(lake), "--format", "json", "-c", describe
    )
    assert status == 0
    types = {r["column_name"]: r["column_type"] for r in json_rows(out)}
    assert types["TimeUnix"] == "TIMESTAMP WITH TIME ZONE"
    assert types["Attributes"] == "MAP(VARCHAR, VARCHAR)"
    assert types["ValueAtQuantiles.Quantile"] == "DOUBLE[]"


def test_shell_reads_statements_until_quit(
    lake: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = (
        "SELECT MetricName, Value\n  FROM otel_metrics_sum;\n.tables\n"
        "SELECT nope FROM otel_logs;\n.quit\nSELECT 'never';\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    status, out, err = run(capsys, "query", "duckdb", "-o", str(lake), "--format", "csv")
    assert status == 1  # one statement failed
    assert "nope" in err
    assert out.splitlines()[:3] == ["MetricName,Value", "my.counter,5.0", "otel_logs"]
    assert "otel_traces" in out and "never" not in out


def test_duckdb_over_s3_without_extensions(
    lake: Path,
    s3_server: str,
    make_bucket: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = make_bucket()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nbackend = "s3"\n[storage.s3]\nbucket = "{bucket}"\nprefix = "otel/"\n'
        f'endpoint = "{s3_server}"\nregion = "{S3_REGION}"\naccess_key_id = "{S3_KEY}"\n'
        f'secret_access_key = "{S3_SECRET}"\n'
    )
    assert main(["--config", str(config), "convert", "--no-progress", str(EXAMPLES)]) == 0
    sql = "SELECT ServiceName, count(*) AS n FROM otel_logs GROUP BY ALL"
    status, out, err = run(
        capsys, "--config", str(config), "query", "duckdb", "--format", "json", "-c", sql
    )
    assert status == 0, err
    assert json_rows(out) == [{"ServiceName": "my.service", "n": 2}]
    sql = "SELECT count(*) AS n FROM otel_metrics_summary"
    assert json_rows(run(capsys, "--config", str(config), "query", "duckdb", "--format",
                         "json", "-c", sql)[1]) == [{"n": 0}]  # fmt: skip


def test_s3_secret_for_httpfs_from_the_storage_settings() -> None:
    options = {
        "access_key_id": "AK",
        "secret_access_key": "it's",
        "endpoint": "http://127.0.0.1:9000",
        "region": "eu-west-1",
    }
    sql = s3_secret_sql(options, "s3")
    assert sql == (
        "CREATE OR REPLACE SECRET otlp2parquet (TYPE s3, KEY_ID 'AK', SECRET 'it''s', "
        "REGION 'eu-west-1', ENDPOINT '127.0.0.1:9000', URL_STYLE 'path', USE_SSL false)"
    )
    r2 = s3_secret_sql({"access_key_id": "a", "secret_access_key": "b", "account_id": "acc"}, "r2")
    assert r2 is not None and "REGION 'auto'" in r2
    assert "ENDPOINT 'acc.r2.cloudflarestorage.com'" in r2 and "USE_SSL true" in r2
    assert s3_secret_sql({"region": "us-east-1"}, "s3") is None  # the fsspec route then


def chdb_session(statements: str) -> Any:
    from chdb import session

    db = session.Session()
    for statement in statements.split(";\n"):
        if statement.strip():
            db.query(statement)
    return db


def test_clickhouse_file_engine_reads_the_lake_in_chdb(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, ddl, _ = run(
        capsys, "query", "clickhouse", "--print", "-o", str(lake), "--database", "lake"
    )
    assert status == 0
    assert ddl.startswith("CREATE DATABASE IF NOT EXISTS lake;")
    assert f"ENGINE = File(Parquet, '{lake}/logs/**/*.parquet');" in ddl
    db = chdb_session(ddl)
    logs = db.query(
        "SELECT TraceId, SpanId, SeverityNumber, LogAttributes['double.attribute'], "
        "toString(Timestamp) FROM lake.otel_logs WHERE Body = 'Example log record'",
        "TSV",
    )
    assert str(logs).split("\t") == [
        TRACE_ID, SPAN_ID, "10", "637.704", "2018-12-13 14:51:00.300000000\n"
    ]  # fmt: skip
    traces = db.query("SELECT SpanKind, Duration, `Events.Name` FROM lake.otel_traces", "TSV")
    assert str(traces) == "Server\t1000000000\t[]\n"
    sums = db.query("SELECT MetricName, Value, IsMonotonic FROM lake.otel_metrics_sum", "TSV")
    assert str(sums) == "my.counter\t5\ttrue\n"
    histogram = db.query("SELECT Count, BucketCounts FROM lake.otel_metrics_histogram", "TSV")
    assert str(histogram) == "2\t[1,1]\n"
    assert str(db.query("SELECT count() FROM lake.otel_metrics_summary", "TSV")) == "0\n"


def test_clickhouse_s3_engine_reads_the_bucket_in_chdb(
    s3_server: str,
    make_bucket: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = make_bucket()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nbackend = "s3"\n[storage.s3]\nbucket = "{bucket}"\nprefix = "p/q"\n'
        f'endpoint = "{s3_server}"\nregion = "{S3_REGION}"\naccess_key_id = "{S3_KEY}"\n'
        f'secret_access_key = "{S3_SECRET}"\n'
    )
    assert main(["--config", str(config), "convert", "--no-progress", str(EXAMPLES)]) == 0
    args = ("--config", str(config), "query", "clickhouse", "--print", "--table", "logs")
    plain = run(capsys, *args)[1]
    assert f"ENGINE = S3('{s3_server}/{bucket}/p/q/logs/**/*.parquet', 'Parquet');" in plain
    assert S3_SECRET not in plain  # secrets only when asked for
    ddl = run(capsys, *args, "--with-credentials")[1]
    db = chdb_session(ddl)
    result = db.query("SELECT ServiceName, count() FROM otel_logs GROUP BY ServiceName", "TSV")
    assert str(result) == "my.service\t2\n"


def test_clickhouse_refuses_a_memory_lake(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "query", "clickhouse", "--print", "-o", "memory://lake")
    assert status == 2 and "memory" in err
