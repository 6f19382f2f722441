"""The Cloudflare Worker without pyarrow: a subprocess in which ``pyarrow`` and ``numpy`` cannot be
imported runs the Worker's fetch path (direct writes and the batching Durable Object) through the
binding stand-ins; the Parquet files it leaves in the R2 stand-in are read here with DuckDB and
compared with what the pyarrow path writes. Also ``parquet.engine``: its values and errors."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.engine import choose_engine
from otlp2parquet.engine.arrow_writer import ParquetWriter
from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import load_table_schema
from support.rest_catalog import RestCatalog
from support.signal_samples import decoder, example, mapper

HERE = Path(__file__).parent
CHILD = HERE.parent / "support" / "lite_worker_child.py"
JSON = "application/json"
LOG_LINES = 3


def pb_logs() -> bytes:
    from support.cloudflare_support import pb_logs as make

    return make("checkout", LOG_LINES, "hello")


REQUESTS = [  # path, content type, encoding, body
    ("/v1/logs", "application/x-protobuf", "", pb_logs),
    ("/v1/logs", JSON, "gzip", lambda: gzip.compress(example("events.json"))),
    ("/v1/traces", JSON, "", lambda: example("trace.json")),
    ("/v1/metrics", JSON, "", lambda: example("metrics.json")),
]


def run_child(
    tmp_path_factory: pytest.TempPathFactory,
    pythonpath: str = "",
    catalog: dict[str, str] | None = None,
    requests: list[tuple[str, str, str, Any]] = REQUESTS,
) -> tuple[dict[str, Any], Path]:
    """The Worker in a subprocess without pyarrow, numpy and pyiceberg; its report and output
    directory. With ``catalog``, the direct run's files are synced into that REST catalog."""
    inputs, out = tmp_path_factory.mktemp("in"), tmp_path_factory.mktemp("out")
    if catalog:
        (inputs / "catalog.json").write_text(json.dumps(catalog))
    listed = []
    for n, (path, content_type, encoding, body) in enumerate(requests):
        (inputs / f"body{n}").write_bytes(body())
        listed.append(
            {"path": path, "content_type": content_type, "encoding": encoding,
             "body_file": f"body{n}"}
        )  # fmt: skip
    (inputs / "requests.json").write_text(json.dumps(listed))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run(
        [
            sys.executable,
            str(CHILD),
            str(inputs),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=inputs,  # no ./config.toml
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), out


@pytest.fixture(scope="module")
def worker_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    return run_child(tmp_path_factory)


def files(out: Path, prefix: str) -> list[Path]:
    return sorted((out / prefix).rglob("*.parquet"))


def duck_rows(path: Path, sql: str = "SELECT * FROM t") -> list[Any]:
    duckdb.sql("DROP VIEW IF EXISTS t")
    duckdb.sql(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}', hive_partitioning = false)")
    return duckdb.sql(sql).fetchall()


def test_the_worker_answers_without_pyarrow_or_numpy(worker_run: Any) -> None:
    report, _ = worker_run
    assert report["loaded"] == []  # neither was imported, not even partly
    assert report["pipeline"] == "Pipeline/LiteEngine"
    assert [r[1] for r in report["responses"]] == [200] * 2 * len(REQUESTS)
    assert report["responses"][1][2] == "{}"  # OTLP/JSON ExportLogsServiceResponse


def test_the_worker_keeps_zlib_and_refuses_what_needs_pyarrow(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import zlib

    from support.compression_support import COMPRESSORS

    sent = [("zlib", zlib.compress), ("deflate", zlib.compress), ("gzip", gzip.compress)]
    sent += [(name, COMPRESSORS[name]) for name in ("zstd", "snappy", "x-snappy-framed", "lz4")]
    requests = [
        ("/v1/traces", JSON, name, lambda c=compress: c(example("trace.json")))
        for name, compress in sent
    ]
    report, out = run_child(tmp_path_factory, requests=requests)
    assert report["loaded"] == []
    statuses = [200, 200, 200, 415, 415, 415, 415]
    assert [r[1] for r in report["responses"]] == statuses * 2  # direct, then batched
    direct = report["responses"][: len(sent)]
    for (name, _), (_, _, body) in zip(sent[3:], direct[3:], strict=True):
        message = json.loads(body)["message"]
        assert f"unsupported Content-Encoding {name!r} ({name} needs pyarrow" in message
        assert message.endswith("supported: gzip, deflate, zlib, identity"), message
    assert len(files(out, "direct/traces")) == 3


@pytest.mark.parametrize("prefix", ["direct", "batched"])
def test_the_files_hold_the_expected_values(worker_run: Any, prefix: str) -> None:
    _, out = worker_run
    logs = files(out, f"{prefix}/logs")
    keys = [str(p.relative_to(out / prefix)) for p in logs]
    assert all(k.startswith("logs/") and "/year=" in k and "/hour=" in k for k in keys)
    bodies = []
    for path in logs:
        bodies += duck_rows(path, "SELECT ServiceName, Body, EventName FROM t ORDER BY Body")
    assert ("checkout", "hello 0", "") in bodies
    assert sum(1 for b in bodies if b[0] == "checkout") == LOG_LINES
    assert any(b[2] == "browser.page_view" for b in bodies)
    (trace,) = files(out, f"{prefix}/traces")
    (row,) = duck_rows(trace, "SELECT SpanKind, StatusCode, Duration, ParentSpanId FROM t")
    assert row == ("Server", "Unset", 1_000_000_000, "eee19b7ec3c1b173")
    metric_tables = {p.relative_to(out / prefix).parts[1] for p in files(out, f"{prefix}/metrics")}
    assert metric_tables == {"gauge", "sum", "histogram", "exponential_histogram"}
    if prefix == "batched":  # the two log requests of one service and hour: one file
        assert len([k for k in keys if "/checkout/" in k]) == 1


@pytest.mark.parametrize(
    ("name", "signal", "table"),
    [("trace.json", "traces", "traces"), ("metrics.json", "metrics", "metrics_histogram")],
)
def test_the_files_equal_the_pyarrow_path(worker_run: Any, name: str, signal: str, table: str):
    _, out = worker_run
    schema = load_table_schema(table)
    (path,) = files(out, f"direct/{schema.path}")
    expected = mapper(signal).map(decoder("json").decode(example(name), signal)).tables[table]
    normal = out / f"normal-{table}.parquet"
    normal.write_bytes(ParquetWriter().to_bytes(expected, schema))
    assert repr(duck_rows(path)) == repr(duck_rows(normal))
    assert pq.read_schema(path).equals(pq.read_schema(normal))
    assert pq.read_metadata(path).created_by.endswith("(lite writer)")
    assert pq.read_metadata(io.BytesIO(normal.read_bytes())).num_rows == expected.num_rows


def test_the_cron_sync_registers_files_without_pyarrow_or_pyiceberg(
    tmp_path_factory: pytest.TempPathFactory, rest_catalog: RestCatalog
) -> None:
    """The Worker's Iceberg commit (``plugins/catalog_iceberg/lite/iceberg_rest.py``) with pyarrow,
    numpy and pyiceberg unimportable; pyiceberg reads the resulting tables here."""
    settings = {
        "bucket": rest_catalog.bucket,
        "uri": rest_catalog.server.uri,
        "warehouse": rest_catalog.warehouse,
        "token": rest_catalog.token,
    }
    report, out = run_child(tmp_path_factory, catalog=settings)
    assert report["loaded"] == []
    assert report["sync"] == {"receipts": 7, "committed": 7, "failed": 0, "unreadable": 0}
    rest_catalog.mirror(
        {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    )
    catalog = rest_catalog.server.catalog
    logs = catalog.load_table(("otlp", "otel_logs")).scan().to_arrow()
    assert logs.num_rows == LOG_LINES + 1  # and the one event of events.json
    bodies = sorted(logs["Body"].to_pylist())
    assert bodies[:LOG_LINES] == [f"hello {i}" for i in range(LOG_LINES)]
    spans = catalog.load_table(("otlp", "otel_traces")).scan(selected_fields=("SpanKind",))
    assert spans.to_arrow()["SpanKind"].to_pylist() == ["Server"]
    tables = {name for _, name in catalog.list_tables("otlp")}
    assert tables == {
        "otel_logs",
        "otel_traces",
        "otel_metrics_gauge",
        "otel_metrics_sum",
        "otel_metrics_histogram",
        "otel_metrics_exponential_histogram",
    }


def test_the_deployed_copy_runs_without_pyarrow(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """``otlp2parquet deploy cloudflare`` copies the package into ``src/``; that copy, not the
    installed one, serves the requests."""
    from otlp2parquet.cli.main import main

    project = tmp_path_factory.mktemp("worker")
    assert main(["deploy", "cloudflare", "--out", str(project)]) == 0
    report, out = run_child(tmp_path_factory, pythonpath=str(project / "src"))
    assert report["module_file"] == str(project / "src" / "otlp2parquet" / "__init__.py")
    assert report["loaded"] == [] and report["pipeline"] == "Pipeline/LiteEngine"
    assert [r[1] for r in report["responses"]] == [200] * 2 * len(REQUESTS)
    (trace,) = files(out, "direct/traces")
    assert duck_rows(trace, "SELECT SpanName FROM t") == [("I'm a server span",)]


def test_parquet_engine_values(tmp_path: Path) -> None:
    def config(engine: str | None) -> Any:
        env = {"CF_WORKER": "1"} | ({"OTLP2PARQUET_PARQUET_ENGINE": engine} if engine else {})
        return bootstrap(env=env, cwd=tmp_path).config

    assert choose_engine(config(None)) == "pyarrow"  # auto, and pyarrow is installed here
    assert choose_engine(config("lite")) == "lite"
    assert choose_engine(config("pyarrow")) == "pyarrow"
    with pytest.raises(ConfigError, match=r"parquet\.engine.*'fast'"):
        config("fast")


def test_bad_engine_in_a_config_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[parquet]\nengine = "arrow"\n')
    with pytest.raises(ConfigError, match=r"parquet\.engine") as caught:
        bootstrap(env={}, cwd=tmp_path)
    assert "auto" in str(caught.value) and "lite" in str(caught.value)


def test_the_server_refuses_the_lite_engine(tmp_path: Path) -> None:
    runtime = bootstrap(env={"OTLP2PARQUET_PARQUET_ENGINE": "lite"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match='"lite" is for the cloudflare platform'):
        runtime.pipeline()
