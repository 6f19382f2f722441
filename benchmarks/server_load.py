"""Server load: N keep-alive clients post pre-serialized 1,000-record protobuf log requests to a
real ``otlp2parquet serve`` process (default configuration, Parquet to a temporary directory)
for a fixed time; records/s, latency percentiles and the resident memory of the server's
processes over time."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import MB, rss_bytes
from benchmarks.workloads import REQUEST_RECORDS, workload

WARMUP_SECS = 3.0
SAMPLE_SECS = 1.0
#: RSS flatness compares the average of the minute after the first with the last minute's.
FLAT_AFTER_SECS = 60.0
WINDOW_SECS = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and its child processes (the workers)."""
    total = rss_bytes(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(rss_bytes(int(child)) for child in children)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ready")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not become ready")


class Client(threading.Thread):
    """One keep-alive connection posting bodies in turn; latencies after ``measure_from``."""

    def __init__(self, port: int, bodies: list[bytes], measure_from: float, stop: float) -> None:
        super().__init__(daemon=True)
        self.port, self.bodies = port, bodies
        self.measure_from, self.stop = measure_from, stop
        self.latencies: list[float] = []
        self.failed = 0
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/x-protobuf"}
        i = 0
        while (now := time.monotonic()) < self.stop:
            body = self.bodies[i % len(self.bodies)]
            i += 1
            start = time.perf_counter()
            conn.request("POST", "/v1/logs", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if now >= self.measure_from:
                self.latencies.append(time.perf_counter() - start)
                self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        conn.close()


def run_server(clients: int, duration: float, workers: int = 1) -> dict[str, Any]:
    bodies = workload("L", 0.2).requests  # 20 distinct 1,000-record requests
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="otlp2parquet-bench-") as tmp:
        env = {
            **os.environ,
            "OTLP2PARQUET_SERVER_WORKERS": str(workers),
            "OTLP2PARQUET_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "otlp2parquet", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--output", str(Path(tmp) / "data")]
        proc = subprocess.Popen(command, env=env, cwd=tmp)
        try:
            _wait_ready(port, proc)
            result = _load(proc.pid, port, bodies, clients, duration)
        finally:
            proc.send_signal(signal.SIGTERM)
            result_status = proc.wait(timeout=120)
    result.update(clients=clients, workers=workers, exit_status=result_status)
    return result


def _load(
    pid: int, port: int, bodies: list[bytes], clients: int, duration: float
) -> dict[str, Any]:
    began = time.monotonic()
    measure_from = began + WARMUP_SECS
    stop = measure_from + duration
    threads = [Client(port, bodies, measure_from, stop) for _ in range(clients)]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    series: list[tuple[float, float]] = []
    while any(t.is_alive() for t in threads):
        time.sleep(SAMPLE_SECS)
        series.append((time.monotonic() - measure_from, _tree_rss(pid) / MB))
    elapsed = time.monotonic() - measure_from
    latencies = sorted(x for t in threads for x in t.latencies)
    statuses: dict[int, int] = {}
    for t in threads:
        for status, count in t.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    ok = statuses.get(200, 0)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    measured = [(t, rss) for t, rss in series if t >= 0]
    return {
        "seconds": elapsed,
        "requests_ok": ok,
        "requests_failed": sum(statuses.values()) - ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "records_per_s": ok * REQUEST_RECORDS / elapsed,
        "p50_ms": pct(0.50) if latencies else 0.0,
        "p95_ms": pct(0.95) if latencies else 0.0,
        "p99_ms": pct(0.99) if latencies else 0.0,
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "rss_mb": [round(rss, 1) for _, rss in measured],
        "rss_start_mb": measured[0][1] if measured else 0.0,
        "rss_peak_mb": max((rss for _, rss in measured), default=0.0),
        "rss_end_mb": measured[-1][1] if measured else 0.0,
        **_flatness(measured),
        "load_generator_cpu_s": time.process_time() - cpu,
    }


def _flatness(series: list[tuple[float, float]]) -> dict[str, Any]:
    """RSS rises while buffers fill and falls at each flush, so flat means: the average over
    the last ``WINDOW_SECS`` (several flush cycles) is no higher than over the window after
    the first minute."""
    if not series or series[-1][0] < FLAT_AFTER_SECS + 2 * WINDOW_SECS:
        return {"rss_growth_pct": None}
    first = [rss for t, rss in series if FLAT_AFTER_SECS <= t < FLAT_AFTER_SECS + WINDOW_SECS]
    last = [rss for t, rss in series if t >= series[-1][0] - WINDOW_SECS]
    means = [sum(first) / len(first), sum(last) / len(last)]
    return {
        "rss_window_means_mb": means,
        "rss_window_peaks_mb": [max(first), max(last)],
        "rss_growth_pct": (means[1] - means[0]) / means[0] * 100,
    }


def format_server(r: dict[str, Any]) -> str:
    flat = ""
    if r.get("rss_growth_pct") is not None:
        first, last = r["rss_window_means_mb"]
        flat = f" (minute 2 → last minute, average {first:.0f} → {last:.0f} MB: "
        flat += f"{r['rss_growth_pct']:+.1f} %)"
    return (
        f"server: {r['clients']} clients, {r['workers']} worker(s), {r['seconds']:.0f} s: "
        f"{r['records_per_s']:,.0f} records/s, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, "
        f"p99 {r['p99_ms']:.0f} ms, {r['requests_failed']} failed; RSS {r['rss_start_mb']:.0f} → "
        f"peak {r['rss_peak_mb']:.0f} → end {r['rss_end_mb']:.0f} MB{flat}; exit {r['exit_status']}"
    )
