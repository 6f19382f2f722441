"""The assembled write path (partitioner → batcher → writer → storage → catalog → hooks) on local
disk, memory:// and S3/R2-style stores, read back with pyarrow and DuckDB."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp2parquet import hookimpl
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.plugins.catalog_none import NoCatalog
from otlp2parquet.types import MappedBatch, WrittenFile
from support.s3 import S3_KEY, S3_REGION, S3_SECRET
from support.writepath_tables import GAUGE, HOUR_US, LOGS, NOT_WRITE_PATH, T0, build_pipeline, rows

KEY = re.compile(
    r"(?P<path>logs|metrics/gauge)/(?P<service>[^/]+)/year=(?P<year>\d{4})/month=(?P<month>\d\d)/"
    r"day=(?P<day>\d\d)/hour=(?P<hour>\d\d)/(?P<ts>\d+)-[0-9a-f]{32}\.parquet"
)


class Observer:
    """An ``on_batch_written`` hook implementation, registered like any plugin."""

    def __init__(self) -> None:
        self.seen: list[WrittenFile] = []

    @hookimpl
    def on_batch_written(self, result: WrittenFile) -> None:
        self.seen.append(result)


def sample() -> MappedBatch:
    """Logs of two services over an hour boundary, and gauge points of one service."""
    logs = rows([T0 - 10, T0 + 5, T0 + 7, T0 - 3], ["api", "api", "web", "api"])
    gauge = rows([T0 + HOUR_US * 3], "api", start_seq=100, schema=GAUGE)
    return MappedBatch(tables={LOGS.name: logs, GAUGE.name: gauge})


def round_trip(pipeline: Pipeline) -> list[WrittenFile]:
    observer = Observer()
    pipeline.pm.register(observer, name=f"observer-{uuid.uuid4().hex}")
    batch = sample()
    pipeline.ingest_mapped(batch)
    pipeline.close()
    keys = pipeline.storage.list()
    assert sorted(f.key for f in observer.seen) == keys
    assert len(keys) == 4
    by_seq: dict[int, dict[str, Any]] = {}
    for key in keys:
        match = KEY.fullmatch(key)
        assert match, key
        table = pq.read_table(io.BytesIO(pipeline.storage.get(key)))
        times = [t.timestamp() * 1_000_000 for t in table.column(0).to_pylist()]
        hour = int(match["hour"])
        assert all(int(t // HOUR_US % 24) == hour for t in times)
        assert int(match["ts"]) == min(times)
        assert (match["year"], match["month"], match["day"]) == ("2024", "05", "06")
        assert set(table.column("ServiceName").to_pylist()) == {match["service"]}
        for row in table.to_pylist():
            by_seq[row["Seq"]] = row
    expected = pa.concat_tables(
        [batch.tables[LOGS.name], batch.tables[GAUGE.name].rename_columns(LOGS.arrow_schema.names)]
    ).to_pylist()
    assert len(by_seq) == len(expected) == 5
    for row in expected:
        got = by_seq[row["Seq"]]
        assert list(got.values()) == list(row.values())
    return observer.seen


def test_round_trip_on_local_disk_read_back_by_duckdb(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    written = round_trip(build_pipeline(tmp_path, storage__fs__path=str(lake)))
    assert all(f.url.startswith(f"file://{lake}/") for f in written)
    got = duckdb.sql(
        "SELECT ServiceName, Seq, year, month, day, hour FROM "
        f"read_parquet('{lake}/logs/**/*.parquet', hive_partitioning=true) ORDER BY Seq"
    ).fetchall()
    assert [(s, q, int(y), int(m), int(d), int(h)) for s, q, y, m, d, h in got] == [
        ("api", 0, 2024, 5, 6, 6),
        ("api", 1, 2024, 5, 6, 7),
        ("web", 2, 2024, 5, 6, 7),
        ("api", 3, 2024, 5, 6, 6),
    ]


def test_round_trip_on_memory(tmp_path: Path) -> None:
    root = f"/lake-{uuid.uuid4().hex}"
    pipeline = build_pipeline(tmp_path, storage__backend="memory", storage__memory__path=root)
    round_trip(pipeline)
    con = duckdb.connect()
    con.register_filesystem(pipeline.storage.fs)
    count = con.execute(
        f"SELECT count(*) FROM read_parquet('memory://{root}/**/*.parquet', hive_partitioning=true)"
        " WHERE hour = '07'"
    ).fetchone()
    assert count == (2,)


def s3_settings(options: dict[str, Any], backend: str = "s3") -> dict[str, Any]:
    return {"storage__backend": backend} | {
        f"storage__{backend}__{key}": value for key, value in options.items()
    }


def test_round_trip_on_s3_read_back_by_pyarrow_and_duckdb(
    tmp_path: Path, s3_options: dict[str, Any]
) -> None:
    pipeline = build_pipeline(tmp_path, **s3_settings(s3_options | {"prefix": "otel"}))
    written = round_trip(pipeline)
    bucket = s3_options["bucket"]
    assert all(f.url.startswith(f"s3://{bucket}/otel/") for f in written)
    fs = pipeline.storage.fs
    dataset = pq.read_table(f"{bucket}/otel/logs", filesystem=fs, partitioning="hive")
    assert sorted(dataset.column("Seq").to_pylist()) == [0, 1, 2, 3]
    con = duckdb.connect()
    con.register_filesystem(fs)
    got = con.execute(
        f"SELECT max(Seq), min(year) FROM read_parquet('s3://{bucket}/otel/metrics/**/*.parquet',"
        " hive_partitioning=true)"
    ).fetchone()
    assert got == (100, 2024)


def test_r2_style_settings_round_trip(tmp_path: Path, s3_options: dict[str, Any]) -> None:
    options = {k: s3_options[k] for k in ("bucket", "endpoint", "access_key_id")}
    options |= {"secret_access_key": S3_SECRET, "account_id": "0123abcd", "prefix": "r2/"}
    pipeline = build_pipeline(tmp_path, **s3_settings(options, "r2"))
    assert pipeline.storage.fs.client_kwargs == {"region_name": "auto"}
    round_trip(pipeline)
    assert all(k.startswith(("logs/", "metrics/")) for k in pipeline.storage.list())


def test_on_batch_written_reports_each_file_with_batching_off(tmp_path: Path) -> None:
    pipeline = build_pipeline(
        tmp_path,
        storage__backend="memory",
        storage__memory__path=f"/{uuid.uuid4().hex}",
        batch__enabled=False,
    )
    observer = Observer()
    pipeline.pm.register(observer, name="observer")
    pipeline.ingest_mapped(MappedBatch(tables={LOGS.name: rows([T0 + 9, T0 + 2], "svc")}))
    [written] = observer.seen  # written before ingest returned
    assert (written.table, written.rows, written.catalog) == (LOGS.name, 2, "none")
    assert (written.min_ts_us, written.max_ts_us) == (T0 + 2, T0 + 9)
    assert written.bytes == len(pipeline.storage.get(written.key))
    assert written.partition.service == "svc" and written.partition.bucket_start_us == T0
    assert pipeline.stats.files_written == 1 and pipeline.stats.rows_written == 2


def test_failing_observer_is_counted_and_loses_nothing(tmp_path: Path) -> None:
    class Broken:
        @hookimpl
        def on_batch_written(self, result: WrittenFile) -> None:
            raise RuntimeError("observer bug")

    pipeline = build_pipeline(tmp_path, storage__fs__path=str(tmp_path / "lake"))
    pipeline.pm.register(Broken(), name="broken")
    pipeline.ingest_mapped(MappedBatch(tables={LOGS.name: rows([T0])}))
    pipeline.flush()
    assert pipeline.stats.observer_errors == 1
    assert len(pipeline.storage.list()) == 1


def test_catalog_none_registered_by_register_catalogs_hook(tmp_path: Path) -> None:
    component = collect_registry(build_plugin_manager(autoload=False)).get("catalog", "none")
    assert component.plugin == "catalog_none"
    pipeline = build_pipeline(tmp_path, storage__backend="memory", catalog_mode="none")
    assert isinstance(pipeline.catalog, NoCatalog)
    assert pipeline.catalog.commit([]) is None
    pipeline.close()


@pytest.mark.parametrize("backend", ["file", "filesystem"])
def test_fs_aliases_read_storage_fs_options(tmp_path: Path, backend: str) -> None:
    lake = tmp_path / backend
    pipeline = build_pipeline(tmp_path, storage__backend=backend, storage__fs__path=str(lake))
    assert pipeline.storage.root == str(lake)


def test_s3_settings_from_environment_variables(
    tmp_path: Path, s3_options: dict[str, Any], monkeypatch
) -> None:
    from otlp2parquet.assembly import bootstrap

    env = {
        "OTLP2PARQUET_STORAGE_BACKEND": "aws",
        "OTLP2PARQUET_S3_BUCKET": s3_options["bucket"],
        "OTLP2PARQUET_S3_ENDPOINT": s3_options["endpoint"],
        "OTLP2PARQUET_S3_REGION": S3_REGION,
        "OTLP2PARQUET_PREFIX": "legacy/",
        "OTLP2PARQUET_PLUGINS_DISABLE": ",".join(NOT_WRITE_PATH),
    }
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    pipeline = bootstrap(None, None, env=env, cwd=tmp_path).pipeline()
    pipeline.storage.check()
    assert pipeline.storage.root == f"{s3_options['bucket']}/legacy"
