"""Timing and peak-memory measurement in this process, and running a measurement in a fresh
child process (so that one run's memory never flatters or burdens the next)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 2**20


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except OSError:
        return 0


@dataclass
class Measurement:
    seconds: float  # wall clock
    cpu_seconds: float  # this process, every thread
    peak_rss_growth: int  # bytes over the resident memory at the start
    result: object

    def rate(self, records: int) -> float:
        return records / self.seconds if self.seconds else float("inf")


class Sampler(threading.Thread):
    """Samples a process's resident memory until stopped; keeps the peak. Only where the
    kernel's own peak cannot be reset (``reset_peak``): the thread takes the GIL each time."""

    def __init__(self, pid: int | str = "self", interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = rss_bytes(pid)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, rss_bytes(self.pid))


def reset_peak() -> bool:
    """Reset this process's peak resident memory (Linux: VmHWM); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def peak_rss() -> int:
    """This process's peak resident memory since the last ``reset_peak``, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return rss_bytes()


def measure(func: Callable[[], object], memory: bool = True) -> Measurement:
    """Run ``func`` once: wall and CPU time and, with ``memory``, the growth of resident memory
    over its start (0 without)."""
    gc.collect()
    start_rss = rss_bytes()
    sampler = None
    if memory and not reset_peak():
        sampler = Sampler()
        sampler.start()
    cpu = time.process_time()
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = 0
    if sampler is not None:
        peak = sampler.stop()
    elif memory:
        peak = peak_rss()
    return Measurement(seconds, cpu, max(0, peak - start_rss), result)


def run_child(module: str, args: Sequence[str], timeout: float = 900) -> dict[str, Any]:
    """``python -m module args`` in a fresh interpreter; its last stdout line is JSON."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed: {proc.stderr.strip()[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
