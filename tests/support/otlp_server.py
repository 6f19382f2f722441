"""A real ``otlp2parquet serve`` subprocess on a free loopback port, and helpers to talk to it
and read back what it wrote, for the end-to-end tests."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "data" / "otlp-examples"


def example(name: str) -> bytes:
    """One of the official OTLP/JSON example requests (``logs.json``, ``trace.json`` ...)."""
    return (EXAMPLES / name).read_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``otlp2parquet serve`` with ``config`` (TOML text) writing under ``tmp/data`` (or to the
    configured storage, with ``output=False``)."""

    def __init__(
        self,
        tmp: Path,
        config: str = "",
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        output: bool = True,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.tmp = tmp
        self.output = output
        self.preexec = preexec  # run in the child before exec (resource limits)
        self.args = args  # more ``serve`` flags
        self.data = tmp / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = tmp / "config.toml"
        self.config_file.write_text(config)
        self.log_file = tmp / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> ServerProcess:
        command = [
            sys.executable, "-m", "otlp2parquet", "--config", str(self.config_file), "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
            *(("--output", str(self.data)) if self.output else ()), *self.args,
        ]  # fmt: skip
        with self.log_file.open("wb") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=self.tmp,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=self.preexec,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``signum`` and wait for the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection; headers come back lower-cased."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            got = {k.lower(): v for k, v in response.getheaders()}
            return response.status, got, response.read()
        finally:
            conn.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()


def read_table(root: Path, table_dir: str) -> pa.Table:
    """Every Parquet file under ``root/table_dir`` as one table (empty when none)."""
    files = sorted((root / table_dir).rglob("*.parquet")) if (root / table_dir).exists() else []
    if not files:
        return pa.table({})
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")


def rows(root: Path, table_dir: str) -> list[dict[str, object]]:
    return read_table(root, table_dir).to_pylist()
