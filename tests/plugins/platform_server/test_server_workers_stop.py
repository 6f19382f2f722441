"""Graceful stop with ``server.workers`` = 2 and 4 on a real moto S3 server: SIGTERM under load
and SIGTERM while the workers are still starting both end with every worker drained and exit
0; a hung worker is SIGKILLed after ``server.drain_timeout_secs`` and its spool replayed on the
next start. Every acknowledged record is read back with DuckDB, exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
import duckdb
import pytest

from support.otlp_server import ServerProcess
from support.s3 import S3_KEY, S3_REGION, S3_SECRET
from support.spool_support import PROTOBUF, logs_body

DRAIN_TIMEOUT = 4
SERVED = re.compile(r"\[worker (\d+) pid (\d+)\]: POST /v1/logs -> 200")


def _config(endpoint: str, bucket: str, tmp: Path, workers: int, drain: float) -> str:
    return f"""
[server]
workers = {workers}
log_level = "debug"
drain_timeout_secs = {drain}
[batch]
max_age_secs = 3600
[storage]
backend = "s3"
[storage.s3]
bucket = "{bucket}"
endpoint = "{endpoint}"
region = "{S3_REGION}"
access_key_id = "{S3_KEY}"
secret_access_key = "{S3_SECRET}"
[durability]
spool_dir = "{tmp / "spool"}"
"""


def _server(
    tmp: Path, endpoint: str, bucket: str, workers: int, drain: float = DRAIN_TIMEOUT
) -> ServerProcess:
    text = _config(endpoint, bucket, tmp, workers, drain)
    return ServerProcess(tmp, text, {"AWS_MAX_ATTEMPTS": "2"}, ("--output", f"s3://{bucket}"))


def _written(endpoint: str, bucket: str, tmp: Path) -> Counter[str]:
    """How often each record body is in the bucket's Parquet files, read by DuckDB."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )
    local = tmp / "downloaded"
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".parquet"):
                count += 1
                (local / item["Key"]).parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, item["Key"], str(local / item["Key"]))
    if not count:
        return Counter()
    pattern = str(local / "**" / "*.parquet")
    bodies = duckdb.sql(f"SELECT Body FROM read_parquet('{pattern}', union_by_name = true)")
    return Counter(str(row[0]) for row in bodies.fetchall())


class Load:
    """Client threads posting numbered records on fresh connections until stopped."""

    def __init__(self, server: ServerProcess, clients: int = 4, per_request: int = 5) -> None:
        self.server = server
        self.per_request = per_request
        self.acked: set[str] = set()
        self.lock = threading.Lock()
        self.next_id = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                ids = range(self.next_id, self.next_id + self.per_request)
                self.next_id += self.per_request
            try:
                status = self.server.request(
                    "POST", "/v1/logs", logs_body(ids), {"Content-Type": PROTOBUF}
                )[0]
            except OSError:  # the server stopped listening
                time.sleep(0.05)
                continue
            if status == 200:
                with self.lock:
                    self.acked.update(f"rec-{i}" for i in ids)

    def finish(self) -> set[str]:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        return self.acked


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _exit_status(server: ServerProcess, timeout: float) -> int:
    assert server.proc is not None
    try:
        return server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        message = f"the server did not stop within {timeout} s:\n{server.log()}"
        raise AssertionError(message) from None


@pytest.mark.parametrize("workers", [2, 4])
def test_sigterm_under_load_drains_every_worker(
    tmp_path: Path, s3_server: str, make_bucket: Callable[..., str], workers: int
) -> None:
    bucket = make_bucket()
    server = _server(tmp_path, s3_server, bucket, workers).start(timeout=60)
    load = Load(server)
    _wait_for(lambda: len(load.acked) >= 200, 30, "no load acknowledged")
    server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    code = _exit_status(server, DRAIN_TIMEOUT + 10)
    acked = load.finish()
    log = server.log()
    assert code == 0, log
    assert len(re.findall(r"\]: SIGTERM received$", log, re.M)) == workers, log
    assert len(re.findall(r"worker \d \(pid \d+\) exited with status 0", log)) == workers, log
    written = _written(s3_server, bucket, tmp_path)
    assert acked <= set(written), f"{len(acked - set(written))} acknowledged records lost"
    assert max(written.values()) == 1  # nothing twice


@pytest.mark.parametrize("workers", [2, 4])
def test_sigterm_while_workers_start_is_not_lost(
    tmp_path: Path, s3_server: str, make_bucket: Callable[..., str], workers: int
) -> None:
    """The signal lands while the workers are forked but still starting (no handler of their
    own yet): each keeps it, starts, drains and exits 0. The drain timeout covers the rest of
    their start (4 workers on 2 cores take several seconds)."""
    bucket = make_bucket()
    server = _server(tmp_path, s3_server, bucket, workers, drain=30)
    command = [
        sys.executable, "-m", "otlp2parquet", "--config", str(server.config_file), "serve",
        "--host", "127.0.0.1", "--port", str(server.port), "--output", f"s3://{bucket}",
    ]  # fmt: skip
    with server.log_file.open("wb") as out:  # not started: no waiting for /health
        server.proc = subprocess.Popen(
            command, cwd=tmp_path, env=server.env, stdout=out, stderr=subprocess.STDOUT
        )
    forked = f"with {workers} workers"
    _wait_for(lambda: forked in server.log(), 30, "the parent never forked its workers")
    server.proc.send_signal(signal.SIGTERM)
    code = _exit_status(server, 40)
    log = server.log()
    assert code == 0, log
    assert len(re.findall(r"worker \d \(pid \d+\) exited with status 0", log)) == workers, log


def test_a_hung_worker_is_killed_after_the_drain_timeout_and_its_spool_replayed(
    tmp_path: Path, s3_server: str, make_bucket: Callable[..., str]
) -> None:
    bucket = make_bucket()
    server = _server(tmp_path, s3_server, bucket, 2).start(timeout=60)
    load = Load(server)

    def both_served() -> bool:
        return len({pid for _, pid in SERVED.findall(server.log())}) == 2 and len(load.acked) > 50

    _wait_for(both_served, 30, "both workers never served")
    acked = load.finish()
    hung = int(SERVED.findall(server.log())[-1][1])
    os.kill(hung, signal.SIGSTOP)  # a worker that cannot react to anything
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    code = _exit_status(server, DRAIN_TIMEOUT + 10)
    took = time.monotonic() - started
    log = server.log()
    assert code == 1, log  # the parent reports the worker it had to kill
    assert f"(pid {hung}) did not stop within {DRAIN_TIMEOUT} s" in log, log
    assert DRAIN_TIMEOUT - 0.5 < took < DRAIN_TIMEOUT + 5, took
    with pytest.raises(ProcessLookupError):
        os.kill(hung, 0)
    assert not acked <= set(_written(s3_server, bucket, tmp_path))  # the hung worker's are not
    server.start(timeout=60)  # each worker replays its own spool
    assert server.stop() == 0, server.log()
    written = _written(s3_server, bucket, tmp_path)
    assert acked <= set(written), f"{len(acked - set(written))} acknowledged records lost"
    assert max(written.values()) == 1
