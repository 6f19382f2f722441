"""Helpers for the Iceberg catalog tests: synthetic Parquet files in the real layout, and a
PostgreSQL server started from the Debian binaries."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from otlp2parquet.engine.arrow_writer import ParquetWriter
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import Partition, WrittenFile

HOUR_US = 3_600_000_000
#: 2024-05-01T10:00:00Z
BASE_HOUR_US = int(datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()) * 1_000_000


def _value(data_type: pa.DataType, i: int, ts_us: int) -> Any:
    if pa.types.is_timestamp(data_type):
        return ts_us
    if pa.types.is_string(data_type):
        return f"v{i}"
    if pa.types.is_boolean(data_type):
        return i % 2 == 0
    if pa.types.is_integer(data_type):
        return i
    if pa.types.is_floating(data_type):
        return i + 0.5
    if pa.types.is_map(data_type):
        return [("k", f"v{i}")]
    if pa.types.is_list(data_type):
        return [_value(data_type.value_type, i, ts_us)]
    raise TypeError(data_type)


def synthetic_table(schema: TableSchema, rows: int, service: str, hour_us: int) -> pa.Table:
    """``rows`` rows of ``schema``, one service, spread over the first minutes of one hour."""
    times = [hour_us + i * 1_000_000 for i in range(rows)]
    columns = {}
    for field in schema.arrow_schema:
        if field.name == schema.service_column:
            values: list[Any] = [service] * rows
        elif field.name == schema.time_column:
            values = times
        else:
            values = [_value(field.type, i, times[i]) for i in range(rows)]
        columns[field.name] = pa.array(values, type=field.type)
    return pa.table(columns, schema=schema.arrow_schema)


def write_file(
    storage: Any,
    schema: TableSchema,
    service: str = "checkout",
    hour_us: int = BASE_HOUR_US,
    rows: int = 3,
) -> WrittenFile:
    """Write one file where the hive layout puts it; returns the pipeline's WrittenFile."""
    table = synthetic_table(schema, rows, service, hour_us)
    day = datetime.fromtimestamp(hour_us / 1e6, UTC)
    key = (
        f"{schema.path}/{service}/year={day.year}/month={day.month:02d}/day={day.day:02d}/"
        f"hour={day.hour:02d}/{hour_us}-{uuid.uuid4().hex}.parquet"
    )
    data = ParquetWriter().to_bytes(table, schema)
    storage.put(key, data)
    return WrittenFile(
        key=key,
        url=storage.url(key),
        table=schema.name,
        rows=rows,
        bytes=len(data),
        partition=Partition(schema.name, service, hour_us),
        min_ts_us=hour_us,
        max_ts_us=hour_us + (rows - 1) * 1_000_000,
    )


def table_files(table: Any) -> list[str]:
    """Every data file path of the table's current snapshot (duplicates kept)."""
    if table.current_snapshot() is None:
        return []
    return [task.file.file_path for task in table.scan().plan_files()]


# -- PostgreSQL -----------------------------------------------------------------------------
def postgres_bindir() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return str(Path(os.path.realpath(found)).parent)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return str(Path(candidates[-1]).parent) if candidates else None


class Postgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:``port`` in its own temporary directory
    (outside pytest's root-only tmp dirs, since the server runs as ``postgres`` when we are
    root); ``start`` raises RuntimeError saying why it cannot run."""

    def __init__(self, port: int) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="otlp2parquet-pg-"))
        self.port = port
        self.data = self.base / "pgdata"
        self.bindir = postgres_bindir()
        self.user: str | None = None

    @property
    def uri(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [f"{self.bindir}/{args[0]}", *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            user=self.user,
            check=False,
        )

    def start(self) -> None:
        if not self.bindir:
            raise RuntimeError("no pg_ctl found (apt-get install postgresql)")
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user") from None
            self.user = "postgres"
        if self.user:
            shutil.chown(self.base, self.user)
        init = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust")
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()[-500:]}")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.base} -c fsync=off"
        log = str(self.base / "postgres.log")
        start = self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        if start.returncode:
            raise RuntimeError(f"pg_ctl start failed: {start.stderr.strip()[-500:]}")
        deadline = time.monotonic() + 20
        while self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port)).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not become ready within 20 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
