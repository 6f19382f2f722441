"""The output of ``schema export --format clickhouse`` runs in chDB as it stands (every table,
the trace-id lookup table and its view), and every kind of file that ``convert`` writes loads
into it positionally, ``INSERT INTO t SELECT * FROM file(...)``, with the values read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chdb import session as chdb_session

from otlp2parquet.cli.main import main
from otlp2parquet.schema.tables import list_table_schemas
from support.signal_samples import full_requests, otlp_json

EXAMPLES = Path(__file__).parents[1] / "data" / "otlp-examples"
TRACE_ID = "5b8efff798038103d269b633813fc60c"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official examples and the full sample requests, converted by the real pipeline."""
    inputs = tmp_path_factory.mktemp("inputs")
    for signal, request in full_requests().items():
        (inputs / f"full-{signal}.json").write_bytes(otlp_json(request))
    root = tmp_path_factory.mktemp("lake") / "data"
    assert main(["convert", "--no-progress", "-o", str(root), str(EXAMPLES), str(inputs)]) == 0
    return root


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    session = chdb_session.Session(str(tmp_path_factory.mktemp("chdb") / "db"))
    yield session
    session.close()


def rows(session: Any, sql: str) -> list[dict[str, Any]]:
    text = session.query(sql + " FORMAT JSONEachRow").bytes().decode()
    return [json.loads(line) for line in text.splitlines() if line]


def load_export(session: Any, ddl: str) -> None:
    for statement in ddl.split(";\n"):
        lines = [line for line in statement.splitlines() if not line.startswith("--")]
        if "\n".join(lines).strip():
            session.query("\n".join(lines))


def test_every_exported_table_and_view_is_created_and_filled(
    clickhouse: Any, lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "export", "--format", "clickhouse", "--database", "otel"]) == 0
    load_export(clickhouse, capsys.readouterr().out)
    tables = {
        r["name"]: r["engine"]
        for r in rows(clickhouse, "SELECT name, engine FROM system.tables WHERE database = 'otel'")
    }
    assert tables == {
        **{s.table: "MergeTree" for s in list_table_schemas()},
        "otel_traces_trace_id_ts": "MergeTree",
        "otel_traces_trace_id_ts_mv": "MaterializedView",
    }
    for schema in list_table_schemas():
        files = sorted((lake / schema.path).rglob("*.parquet"))
        assert files, f"convert wrote no {schema.table} file"
        for path in files:
            clickhouse.query(
                f"INSERT INTO otel.{schema.table} SELECT * FROM file('{path}', Parquet)"
            )

    [log] = rows(
        clickhouse,
        "SELECT TraceId, SpanId, ServiceName, SeverityNumber, "
        "`__otel_materialized_k8s.pod.name` AS pod, toString(Timestamp) AS ts "
        "FROM otel.otel_logs WHERE Body = 'Example log record'",
    )
    assert log == {
        "TraceId": TRACE_ID,
        "SpanId": "eee19b7ec3c1b174",
        "ServiceName": "my.service",
        "SeverityNumber": 10,
        "pod": "",
        "ts": "2018-12-13 14:51:00.300000000",
    }
    [span] = rows(
        clickhouse,
        "SELECT SpanKind, Duration, ParentSpanId, toString(Timestamp) AS ts "
        f"FROM otel.otel_traces WHERE TraceId = '{TRACE_ID}' "
        "AND ParentSpanId = 'eee19b7ec3c1b173'",
    )
    assert span["SpanKind"] == "Server" and span["Duration"] == 1000000000
    assert span["ParentSpanId"] == "eee19b7ec3c1b173"
    # the view filled the lookup table from the inserted spans, in whole seconds
    [lookup] = rows(
        clickhouse,
        "SELECT toString(min(Start)) AS s, toString(max(End)) AS e "
        f"FROM otel.otel_traces_trace_id_ts WHERE TraceId = '{TRACE_ID}'",
    )
    [bounds] = rows(
        clickhouse,
        "SELECT toString(toDateTime(min(Timestamp))) AS s, "
        "toString(toDateTime(max(Timestamp))) AS e FROM otel.otel_traces "
        f"WHERE TraceId = '{TRACE_ID}'",
    )
    assert lookup == bounds and lookup["s"] <= span["ts"][:19] <= lookup["e"]
    traced = rows(clickhouse, "SELECT uniqExact(TraceId) AS n FROM otel.otel_traces "
                  "WHERE TraceId != ''")[0]["n"]  # fmt: skip
    assert (
        rows(clickhouse, "SELECT uniqExact(TraceId) AS n FROM otel.otel_traces_trace_id_ts")[0]["n"]
        == traced
    )

    [total] = rows(
        clickhouse,
        "SELECT Value, IsMonotonic, AggregationTemporality AS t "
        "FROM otel.otel_metrics_sum WHERE MetricName = 'my.counter'",
    )
    assert total == {"Value": 5, "IsMonotonic": True, "t": 1}
    [gauge] = rows(
        clickhouse,
        "SELECT Value, toTypeName(TimeUnix) AS type "
        "FROM otel.otel_metrics_gauge WHERE MetricName = 'my.gauge'",
    )
    assert gauge == {"Value": 10, "type": "DateTime"}
    [histogram] = rows(
        clickhouse,
        "SELECT Count, BucketCounts, ExplicitBounds "
        "FROM otel.otel_metrics_histogram WHERE MetricName = 'my.histogram'",
    )
    assert histogram == {"Count": 2, "BucketCounts": [1, 1], "ExplicitBounds": [1]}
    [exponential] = rows(
        clickhouse,
        "SELECT Count, Scale FROM otel.otel_metrics_exponential_histogram "
        "WHERE MetricName = 'my.exponential.histogram'",
    )
    assert exponential == {"Count": 3, "Scale": 0}
    summaries = rows(
        clickhouse,
        "SELECT Count, Sum, `ValueAtQuantiles.Quantile` AS q "
        "FROM otel.otel_metrics_summary WHERE MetricName = 'q' ORDER BY Count DESC",
    )
    assert summaries[0] == {"Count": 4, "Sum": 10, "q": [0, 0.5, 1]}
