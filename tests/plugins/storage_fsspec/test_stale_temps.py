"""Temp files that writes killed mid-way leave in the table directories are removed when the
server starts: those of a process of this host that no longer runs, and any older than an
hour; a live process's temp file, another host's recent one and everything else stay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from otlp2parquet.plugins.storage_local import STALE_TEMP_SECS, temp_path
from support.otlp_server import ServerProcess

KILLED_WRITER = """
import os, signal, sys
from otlp2parquet.plugins.storage_local import temp_path
with open(temp_path(sys.argv[1]), "wb") as handle:
    handle.write(b"PAR1 half a file")
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_server_removes_temp_files_of_killed_writes(tmp_path: Path) -> None:
    hour = tmp_path / "data" / "logs" / "svc" / "year=2026" / "month=12" / "day=03" / "hour=10"
    hour.mkdir(parents=True)
    target = str(hour / "1764756000000000-abc.parquet")
    for _ in range(3):  # three writers SIGKILLed mid-write
        child = subprocess.run([sys.executable, "-c", KILLED_WRITER, target], check=False)
        assert child.returncode == -9
    killed = sorted(p.name for p in hour.iterdir())
    assert len(killed) == 3 and all(
        name.startswith(".1764756000000000-abc.parquet.") for name in killed
    )
    alive = Path(temp_path(target))  # this test process is still running
    alive.write_bytes(b"in progress")
    foreign = hour / f".x.parquet.0badc0de.{os.getpid()}.{'0' * 32}.tmp"
    foreign.write_bytes(b"another host's write")
    old = hour / ".y.parquet.0badc0de.1.ffffffffffffffffffffffffffffffff.tmp"
    old.write_bytes(b"left long ago")
    past = time.time() - STALE_TEMP_SECS - 60
    os.utime(old, (past, past))
    data = hour / "1764756000000000-def.parquet"
    data.write_bytes(b"a whole file")
    outside = (
        tmp_path
        / "data"
        / "not-a-table"
        / ".z.parquet.0badc0de.1.ffffffffffffffffffffffffffffffff.tmp"
    )
    outside.parent.mkdir()
    outside.write_bytes(b"not in our layout")
    os.utime(outside, (past, past))

    with ServerProcess(tmp_path) as server:
        deadline = time.monotonic() + 10
        while "left by writes killed mid-way" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        assert "removed 4 temp file(s) left by writes killed mid-way" in server.log()
    left = sorted(p.name for p in hour.iterdir())
    assert left == sorted([alive.name, foreign.name, data.name])
    assert outside.exists()
