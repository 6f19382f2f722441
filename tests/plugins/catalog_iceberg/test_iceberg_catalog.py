"""The iceberg catalog on the zero-setup sqlite SQL catalog: grouped commits, receipts, sync,
idempotence under a lost race, schema evolution and maintenance."""

from __future__ import annotations

import time
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet.durability import receipts as rc
from otlp2parquet.errors import CatalogError
from otlp2parquet.plugins.catalog_iceberg import make_iceberg
from otlp2parquet.plugins.catalog_iceberg.tables import append_files
from otlp2parquet.plugins.storage_fsspec import make_fs
from otlp2parquet.schema.tables import TableSchema, load_table_schema, parse_table_schema
from support.iceberg_support import BASE_HOUR_US, HOUR_US, table_files, write_file
from support.rest_catalog import RestCatalog
from support.s3 import S3_KEY, S3_REGION, S3_SECRET

NAMES = ("logs", "traces")


@pytest.fixture
def storage(tmp_path: Path) -> Any:
    return make_fs({"path": str(tmp_path / "data")})


def schemas() -> dict[str, TableSchema]:
    return {n: load_table_schema(n) for n in NAMES}


def catalog(storage: Any, **options: Any) -> Any:
    return make_iceberg({"namespace": "otlp", **options}, storage, schemas())


def pending_keys(storage: Any) -> list[str]:
    return storage.list("_pending/")


def test_one_snapshot_per_table_per_flush_and_no_receipt_left(storage: Any) -> None:
    cat = catalog(storage)
    logs, traces = load_table_schema("logs"), load_table_schema("traces")
    first = [write_file(storage, logs, svc) for svc in ("a", "b", "a")]
    first.append(write_file(storage, traces, "a", rows=2))
    cat.commit(first)
    assert {f.catalog for f in first} == {"committed"}
    assert pending_keys(storage) == []
    cat.commit([write_file(storage, logs, "a", hour_us=BASE_HOUR_US + HOUR_US)])
    table = cat.table("logs")
    assert len(table.snapshots()) == 2
    assert len(cat.table("traces").snapshots()) == 1
    assert set(table_files(table)) >= {f.url for f in first[:3]}
    assert len(table_files(table)) == 4
    from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual, LessThan

    hour = And(
        GreaterThanOrEqual("Timestamp", "2024-05-01T10:00:00+00:00"),
        LessThan("Timestamp", "2024-05-01T11:00:00+00:00"),
    )
    rows = table.scan(row_filter=And(EqualTo("ServiceName", "a"), hour)).to_arrow()
    assert rows.num_rows == 6 and set(rows.column("ServiceName").to_pylist()) == {"a"}
    cat.close()


def test_recommit_and_leftover_receipts_never_duplicate(storage: Any) -> None:
    cat = catalog(storage)
    written = [write_file(storage, load_table_schema("logs"), s) for s in ("a", "b")]
    cat.commit(written)
    cat.commit(written)  # e.g. a flush retried after an unknown outcome
    # A crash between commit and receipt deletion leaves a receipt behind.
    rc.create(storage, "logs", [rc.PendingFile.from_written(w) for w in written], "_pending/")
    report = cat.sync()
    assert (report.committed, report.already, report.receipts_done) == (0, 2, 1)
    assert sorted(table_files(cat.table("logs"))) == sorted(w.url for w in written)
    assert pending_keys(storage) == []


def test_lost_race_retries_against_fresh_metadata_without_duplicating(storage: Any) -> None:
    """Writer A checks the table, writer B commits the same file, A's commit conflicts:
    A must re-check and add nothing (pyiceberg's own retry would re-append it)."""
    a, b = catalog(storage), catalog(storage)
    logs = load_table_schema("logs")
    written = write_file(storage, logs)
    a.commit([write_file(storage, logs)])  # the table exists with one snapshot
    stale = a.table("logs")
    b.commit([written])
    calls: list[int] = []

    def load() -> Any:
        calls.append(1)
        return stale if len(calls) == 1 else a.table("logs")

    added = append_files(load, logs, [rc.PendingFile.from_written(written)], sleep=lambda _: 0)
    assert added == 0 and len(calls) == 2  # one conflict, then a fresh check
    assert table_files(b.table("logs")).count(written.url) == 1


def test_unreachable_catalog_keeps_receipts_until_sync(storage: Any, tmp_path: Path) -> None:
    down = tmp_path / "catalog-down"
    cat = catalog(storage, uri=f"sqlite:///{down}/catalog.db", sync_interval_secs=3600)
    logs, traces = load_table_schema("logs"), load_table_schema("traces")
    written = [write_file(storage, logs, "a"), write_file(storage, traces, "a")]
    with pytest.raises(CatalogError, match="pending receipts"):
        cat.commit(written)
    assert {w.catalog for w in written} == {"pending"}
    assert all(storage.get(w.key) for w in written)  # the data is safe
    status = cat.status()
    assert sorted(r.table for r in status.receipts) == ["logs", "traces"]
    # The first table's commit failed; the second was deferred without waiting on the catalog.
    assert sorted(r.attempts for r in status.receipts) == [0, 1]
    assert all("OperationalError" in r.last_error for r in status.receipts)
    assert "OperationalError" in status.last_error
    down.mkdir()  # the catalog is back
    report = cat.sync()
    assert (report.committed, report.receipts_done, report.errors) == (2, 2, [])
    assert table_files(cat.table("logs")) == [written[0].url]
    assert table_files(cat.table("traces")) == [written[1].url]
    assert cat.sync().committed == 0 and cat.status().receipts == []
    cat.close()


def test_background_task_commits_pending_receipts(storage: Any, tmp_path: Path) -> None:
    down = tmp_path / "later"
    cat = catalog(storage, uri=f"sqlite:///{down}/catalog.db", sync_interval_secs=0.2)
    written = write_file(storage, load_table_schema("logs"))
    with pytest.raises(CatalogError):
        cat.commit([written])
    down.mkdir()
    deadline = time.monotonic() + 15
    while pending_keys(storage) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pending_keys(storage) == []
    assert table_files(cat.table("logs")) == [written.url]
    cat.close()


def _logs_variant(**change: Any) -> TableSchema:
    data = tomllib.loads(files("otlp2parquet.schemas").joinpath("logs.toml").read_text())
    data["version"] = 2
    if "add" in change:
        data["columns"].append(change["add"])
    if "retype" in change:
        name, arrow = change["retype"]
        for column in data["columns"]:
            if column["name"] == name:
                column["arrow"] = arrow
    return parse_table_schema(data, "test logs v2")


def test_added_column_evolves_the_table_and_a_type_change_is_refused(storage: Any) -> None:
    old = catalog(storage)
    old.commit([write_file(storage, load_table_schema("logs"))])
    extra = {"id": 99, "name": "Extra", "arrow": "string", "clickhouse": "String", "source": "x"}
    v2 = _logs_variant(add=extra)
    new = make_iceberg({}, storage, {"logs": v2})
    new.commit([write_file(storage, v2)])
    table = new.table("logs")
    field = table.schema().find_field("Extra")
    assert field.required is False
    values = table.scan().to_arrow().column("Extra").to_pylist()
    assert sorted(values, key=lambda v: (v is None, str(v))) == ["v0", "v1", "v2", None, None, None]
    assert table.properties["otlp2parquet.schema-version"] == "2"
    bad = make_iceberg({}, storage, {"logs": _logs_variant(retype=("Body", "int64"))})
    with pytest.raises(CatalogError, match="column 'Body' is string in the table but long"):
        bad.commit([write_file(storage, load_table_schema("logs"))])


def test_maintain_compacts_closed_hours_and_expires_snapshots(storage: Any) -> None:
    cat = catalog(storage)
    logs = load_table_schema("logs")
    small = [write_file(storage, logs, "a") for _ in range(3)]
    for written in small:
        cat.commit([written])
    later = BASE_HOUR_US + HOUR_US
    busy = [write_file(storage, logs, "a", hour_us=later) for _ in range(2)]
    cat.commit(busy)
    waiting = write_file(storage, logs, "a", hour_us=later)
    rc.create(storage, "logs", [rc.PendingFile.from_written(waiting)], "_pending/")
    now_us = time.time_ns() // 1000
    [report] = cat.maintain(
        ["logs"], older_than_ms=now_us // 1000 + 1, retain_last=1, compact_before_us=now_us
    )
    assert (report.partitions_compacted, report.files_removed, report.files_added) == (1, 3, 1)
    assert any("pending receipts" in note for note in report.notes)
    table = cat.table("logs")
    paths = table_files(table)
    assert len(paths) == 3 and not {w.url for w in small} & set(paths)
    assert table.scan().to_arrow().num_rows == 15
    for written in small:
        assert written.key not in storage.list(written.key)
    assert report.snapshots_expired == 4 and len(table.snapshots()) == 1


def test_a_hanging_catalog_is_cut_off_and_reconciled_later(storage: Any) -> None:
    import threading

    cat = catalog(storage, commit_timeout_secs=0.3)
    logs = load_table_schema("logs")
    cat.commit([write_file(storage, logs)])  # the table exists
    release = threading.Event()
    real_table = cat.table

    def hanging_table(name: str) -> Any:
        release.wait(20)  # a catalog that stops answering
        return real_table(name)

    cat.table = hanging_table
    slow, later = write_file(storage, logs), write_file(storage, logs)
    started = time.monotonic()
    with pytest.raises(CatalogError, match=r"did not finish within 0\.3 s"):
        cat.commit([slow])
    with pytest.raises(CatalogError, match="deferred"):
        cat.commit([later])  # no waiting on the catalog while it is known to hang
    assert time.monotonic() - started < 3
    assert (slow.catalog, later.catalog) == ("pending", "pending")
    release.set()  # the hung commit finally lands
    cat.table = real_table
    report = cat.sync()
    assert report.errors == [] and report.receipts_done == 2
    files = table_files(cat.table("logs"))
    assert files.count(slow.url) == 1 and files.count(later.url) == 1
    cat.close()


def test_type_promotion_evolves_and_older_writers_still_register(storage: Any) -> None:
    v1 = load_table_schema("logs")
    old = catalog(storage)
    old.commit([write_file(storage, v1)])
    v2 = _logs_variant(retype=("SeverityNumber", "int64"))
    new = make_iceberg({}, storage, {"logs": v2})
    new.commit([write_file(storage, v2)])
    assert str(new.table("logs").schema().find_field("SeverityNumber").field_type) == "long"
    straggler = make_iceberg({}, storage, {"logs": v1})  # a writer not yet upgraded
    written = write_file(storage, v1)
    straggler.commit([written])
    assert written.catalog == "committed"
    assert straggler.table("logs").scan().to_arrow().num_rows == 9


class S3ObjectIO:
    """The lite committer's ObjectIO over an s3fs filesystem."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs

    def put_object(self, url: str, data: bytes) -> None:
        self.fs.pipe(url.removeprefix("s3://"), data)

    def get_object(self, url: str) -> bytes:
        return bytes(self.fs.cat(url.removeprefix("s3://")))


def s3_storage(rest_catalog: RestCatalog) -> Any:
    from otlp2parquet.plugins.storage_fsspec import make_s3

    return make_s3(
        {
            "bucket": rest_catalog.bucket,
            "endpoint": rest_catalog.endpoint,
            "region": S3_REGION,
            "access_key_id": S3_KEY,
            "secret_access_key": S3_SECRET,
        }
    )


def rest_options(rest_catalog: RestCatalog) -> dict[str, str]:
    return {
        "rest_uri": rest_catalog.server.uri,
        "warehouse": rest_catalog.warehouse,
        "token": rest_catalog.token,
    }


def worker_committer(
    rest_catalog: RestCatalog, storage: Any, table_schemas: dict[str, TableSchema]
) -> Any:
    """The Cloudflare Worker's pyarrow-free committer, writing manifests through s3fs."""
    from otlp2parquet.plugins.catalog_iceberg.lite.iceberg_rest import LiteIcebergCatalog
    from otlp2parquet.plugins.catalog_iceberg.lite.rest_catalog import (
        RestCatalogClient,
        RestSettings,
    )
    from otlp2parquet.plugins.platform_cloudflare import boundary

    settings = RestSettings.from_options({"namespace": "otlp", **rest_options(rest_catalog)})
    client = RestCatalogClient(settings, boundary.http_send)
    return LiteIcebergCatalog(settings, client, S3ObjectIO(storage.fs), table_schemas)


def test_rest_catalog_with_pyiceberg_then_the_worker_committer(rest_catalog: RestCatalog) -> None:
    """``catalog_type = "rest"``: pyiceberg's REST client registers the server's files; the
    Worker's pyarrow-free committer then appends to the same table, carrying pyiceberg's
    manifests forward and skipping files already registered."""
    storage = s3_storage(rest_catalog)
    cat = catalog(storage, **rest_options(rest_catalog))
    assert cat.settings.kind == "rest"
    logs = load_table_schema("logs")
    first = [write_file(storage, logs, "a"), write_file(storage, logs, "b")]
    cat.commit(first)
    assert {f.catalog for f in first} == {"committed"}
    cat.close()

    lite = worker_committer(rest_catalog, storage, schemas())
    later = write_file(storage, logs, "c", hour_us=BASE_HOUR_US + HOUR_US)
    assert lite.append("logs", [first[0], later]) == 1  # first[0] is registered already

    table = rest_catalog.server.catalog.load_table(("otlp", "otel_logs"))
    assert sorted(table_files(table)) == sorted([first[0].url, first[1].url, later.url])
    rows = table.scan(selected_fields=("ServiceName",)).to_arrow()
    assert sorted(rows["ServiceName"].to_pylist()) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert len(table.metadata.snapshots) == 2


def test_worker_committer_promotes_types_and_refuses_other_changes(
    rest_catalog: RestCatalog,
) -> None:
    """As the pyiceberg catalog: int → long is promoted, a wider table takes narrower files,
    and another type change is refused naming the column."""
    storage = s3_storage(rest_catalog)
    logs = load_table_schema("logs")
    worker_committer(rest_catalog, storage, schemas()).append("logs", [write_file(storage, logs)])
    wide = _logs_variant(retype=("TraceFlags", "int64"))
    lite = worker_committer(rest_catalog, storage, {"logs": wide})
    assert lite.append("logs", [write_file(storage, wide, "b")]) == 1
    table = rest_catalog.server.catalog.load_table(("otlp", "otel_logs"))
    assert str(table.schema().find_field("TraceFlags").field_type) == "long"
    assert len(table.metadata.schemas) == 2
    narrow = worker_committer(rest_catalog, storage, schemas())  # a writer not yet upgraded
    assert narrow.append("logs", [write_file(storage, logs, "c")]) == 1
    assert len(rest_catalog.server.catalog.load_table(("otlp", "otel_logs")).metadata.schemas) == 2
    bad = worker_committer(rest_catalog, storage, {"logs": _logs_variant(retype=("Body", "int64"))})
    with pytest.raises(CatalogError, match="column\\(s\\) 'Body' have another type"):
        bad.append("logs", [write_file(storage, logs, "d")])
