"""``server.workers = 2``: two worker processes share the listening socket, both serve, and
SIGTERM drains both with every acknowledged record written."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.otlp_server import ServerProcess, example, rows

CONFIG = """
[server]
workers = 2
log_level = "debug"

[batch]
max_age_secs = 3600
max_rows = 1000000
"""
SERVED = re.compile(r"\[worker (\d+) pid (\d+)\]: POST /v1/logs -> 200")
REQUESTS = 80


def _post(server: ServerProcess, i: int) -> int:
    body = example("logs.json").replace(b'"my.service"', json.dumps(f"svc-{i}").encode())
    return server.request("POST", "/v1/logs", body, {"Content-Type": "application/json"})[0]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_two_workers_serve_and_drain(tmp_path: Path, signum: int) -> None:
    server = ServerProcess(tmp_path, CONFIG).start()
    try:
        # /health answered by one worker: wait until the other serves too
        deadline = time.monotonic() + 20
        while server.log().count("writing Parquet to") < 2:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        with ThreadPoolExecutor(8) as pool:  # a fresh connection per request
            statuses = list(pool.map(lambda i: _post(server, i), range(REQUESTS)))
        assert rows(server.data, "logs") == []  # buffered in the workers
    finally:
        code = server.stop(signum)
    log = server.log()
    assert code == 0, log
    acknowledged = {f"svc-{i}" for i, status in enumerate(statuses) if status == 200}
    assert len(acknowledged) == REQUESTS, log
    written = [r["ServiceName"] for r in rows(server.data, "logs")]
    assert sorted(written) == sorted(acknowledged)  # nothing lost, nothing twice
    served: dict[str, int] = {}
    for _index, pid in SERVED.findall(log):
        served[pid] = served.get(pid, 0) + 1
    assert len(served) == 2 and sum(served.values()) == REQUESTS, served
    assert len(re.findall(r"worker \d \(pid \d+\) exited with status 0", log)) == 2, log


def test_busy_port_is_one_line_error(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, CONFIG) as first:
        command = [
            sys.executable, "-m", "otlp2parquet", "--config", str(first.config_file), "serve",
            "--host", "127.0.0.1", "--port", str(first.port), "--output", str(tmp_path / "b"),
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=tmp_path, env=first.env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert "cannot listen on 127.0.0.1:" in done.stderr and "Traceback" not in done.stderr
