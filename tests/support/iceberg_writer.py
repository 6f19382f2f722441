"""One writer process of the concurrency test: ``python iceberg_writer.py ROOT URI NAME FLUSHES``.

It waits for ``ROOT/go``, then races the other writers to sync the same pending receipts, then
runs FLUSHES flush cycles of its own (one logs and one gauge file each, one commit per cycle).
Prints a JSON summary on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from otlp2parquet.errors import CatalogError
from otlp2parquet.plugins.catalog_iceberg import make_iceberg
from otlp2parquet.plugins.storage_fsspec import make_fs
from otlp2parquet.schema.tables import load_table_schema
from support.iceberg_support import BASE_HOUR_US, HOUR_US, write_file


def main(root: str, uri: str, name: str, flushes: int) -> None:
    storage = make_fs({"path": root})
    schemas = {n: load_table_schema(n) for n in ("logs", "metrics_gauge")}
    catalog = make_iceberg({"uri": uri, "sync_interval_secs": 3600}, storage, schemas)
    Path(root, f"ready-{name}").touch()
    deadline = time.monotonic() + 60
    while not Path(root, "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    report = catalog.sync()
    committed = pending = 0
    for i in range(flushes):
        hour = BASE_HOUR_US + (i % 2) * HOUR_US
        files = [
            write_file(storage, schemas["logs"], name, hour),
            write_file(storage, schemas["metrics_gauge"], name, hour),
        ]
        try:
            catalog.commit(files)
        except CatalogError as exc:
            print(f"{name}: commit deferred: {exc}", file=sys.stderr)
        committed += sum(f.catalog == "committed" for f in files)
        pending += sum(f.catalog == "pending" for f in files)
    catalog.close()
    summary = {
        "synced": report.committed,
        "already": report.already,
        "sync_errors": report.errors,
        "committed": committed,
        "pending": pending,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
