"""Four writer processes committing to the same tables of one SQL catalog on PostgreSQL (a
throw-away server started from the Debian binaries): no file lost, none registered twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otlp2parquet.durability import receipts as rc
from otlp2parquet.plugins.catalog_iceberg import make_iceberg
from otlp2parquet.plugins.storage_fsspec import make_fs
from otlp2parquet.schema.tables import load_table_schema
from support.iceberg_support import Postgres, table_files, write_file
from support.s3 import free_port

WRITERS = 4
FLUSHES = 5
ORPHANS = 6
HERE = Path(__file__).parents[2]  # tests/


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    pytest.importorskip("psycopg2", reason="PostgreSQL driver psycopg2 not installed")
    server = Postgres(free_port())
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        pytest.skip(f"PostgreSQL cannot start here: {exc}")
    yield server
    server.stop()


def test_four_writers_lose_nothing_and_register_nothing_twice(
    postgres: Postgres, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    storage = make_fs({"path": str(root)})
    names = ("logs", "metrics_gauge")
    schemas = {n: load_table_schema(n) for n in names}
    # Files whose commit never happened: every writer will race to sync the same receipts.
    for i in range(ORPHANS):
        written = write_file(storage, schemas[names[i % 2]], "orphan")
        rc.create(storage, written.table, [rc.PendingFile.from_written(written)], "_pending/")
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "support" / "iceberg_writer.py"),
                str(root),
                postgres.uri,
                f"w{n}",
                str(FLUSHES),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(WRITERS)
    ]
    deadline = time.monotonic() + 60
    while len(list(root.glob("ready-*"))) < WRITERS and time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.05)
    (root / "go").touch()
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    # Anything a writer left pending (conflicts beyond its retries) is synced now.
    catalog = make_iceberg({"uri": postgres.uri}, storage, schemas)
    catalog.sync()
    assert storage.list("_pending/") == []
    assert sum(s["synced"] for s in summaries) <= ORPHANS
    assert sum(s["committed"] for s in summaries) > 0
    for name in names:
        table = catalog.table(name)
        registered = table_files(table)
        written = [
            storage.url(k) for k in storage.list(schemas[name].path + "/") if k.endswith(".parquet")
        ]
        assert len(written) == WRITERS * FLUSHES + ORPHANS // 2
        assert len(registered) == len(set(registered)), "a file was registered twice"
        assert sorted(registered) == sorted(written), "a file was lost"
        assert table.scan().to_arrow().num_rows == 3 * len(written)
        # Grouped commits: at most one snapshot per flush cycle, plus the syncs.
        assert len(table.snapshots()) <= WRITERS * FLUSHES + WRITERS + 1
    catalog.close()
