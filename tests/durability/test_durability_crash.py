"""Crash test: the OpenTelemetry Python SDK sends logs and spans to a real ``otlp2parquet serve``
that is killed with SIGKILL at seeded random moments and restarted; in the end every record the
server acknowledged is in the Parquet files exactly once.

The SDK retries a request whose connection died, and a killed server may have spooled such a
request before dying: the records of an export that took more than one HTTP attempt are
therefore only required to be present (at least once). Every export answered on its first
attempt must be there exactly once.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import requests
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from support.otlp_server import ServerProcess

SEED = 20240506
KILLS = 4
#: ``slow_observer`` widens the window between an upload and the spool's cleanup.
CONFIG = """
[plugins]
modules = ["support.slow_observer"]
[batch]
max_age_secs = 0.3
retry_initial_secs = 0.05
[durability]
fsync = "always"
"""


class CountingSession(requests.Session):
    """Counts HTTP attempts, so a test knows which exports were retried."""

    def __init__(self) -> None:
        super().__init__()
        self.sends = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.sends += 1
        return super().send(request, **kwargs)


class Sender(threading.Thread):
    """Exports numbered records until stopped; remembers which ones were acknowledged."""

    def __init__(self, kind: str, url: str) -> None:
        super().__init__(name=f"sender-{kind}", daemon=True)
        self.kind = kind
        self.session = CountingSession()
        self.stop = threading.Event()
        self.exactly_once: set[str] = set()
        self.at_least_once: set[str] = set()
        self.failed = 0
        resource = Resource.create({"service.name": f"crash-{kind}"})
        if kind == "logs":
            self.memory: Any = InMemoryLogRecordExporter()
            provider: Any = LoggerProvider(resource=resource)
            provider.add_log_record_processor(SimpleLogRecordProcessor(self.memory))
            logger = provider.get_logger("crash")
            self.emit: Callable[[str], None] = lambda name: logger.emit(body=name)
            self.exporter: Any = OTLPLogExporter(f"{url}/v1/logs", timeout=3, session=self.session)
            self.finished: Callable[[], Any] = self.memory.get_finished_logs
        else:
            self.memory = InMemorySpanExporter()
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(SimpleSpanProcessor(self.memory))
            tracer = provider.get_tracer("crash")
            self.emit = lambda name: tracer.start_span(name).end()
            self.exporter = OTLPSpanExporter(f"{url}/v1/traces", timeout=3, session=self.session)
            self.finished = self.memory.get_finished_spans
        self.provider = provider

    def run(self) -> None:
        batch = 0
        while not self.stop.is_set():
            names = [f"{self.kind}-{batch}-{i}" for i in range(20)]
            batch += 1
            for name in names:
                self.emit(name)
            items = self.finished()
            self.memory.clear()
            self.session.sends = 0
            ok = self.exporter.export(items).name == "SUCCESS"
            if not ok:
                self.failed += 1
            elif self.session.sends == 1:
                self.exactly_once.update(names)
            else:
                self.at_least_once.update(names)
            time.sleep(0.01)


def landed(data: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for table, column in (("logs", "Body"), ("traces", "SpanName")):
        for path in sorted((data / table).rglob("*.parquet")):
            counts.update(str(v) for v in pq.read_table(path, columns=[column])[column].to_pylist())
    return counts


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    env = {"PYTHONPATH": str(Path(__file__).parents[1])}
    server = ServerProcess(tmp_path, CONFIG, env).start()
    senders = [Sender("logs", server.url), Sender("traces", server.url)]
    for sender in senders:
        sender.start()
    logs = []
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.05, 1.2))
            server.stop(signal.SIGKILL)
            logs.append(server.log())
            time.sleep(rng.uniform(0.0, 0.3))
            server.start()
        time.sleep(0.5)
    finally:
        for sender in senders:
            sender.stop.set()
        for sender in senders:
            sender.join(30)
    assert server.stop() == 0, server.log()
    counts = landed(server.data)
    for sender in senders:
        assert len(sender.exactly_once) >= 100, (sender.kind, sender.failed)
        missing = sorted((sender.exactly_once | sender.at_least_once) - set(counts))
        twice = sorted(n for n in sender.exactly_once if counts[n] != 1)
        assert not missing, (
            f"{sender.kind}: {len(missing)} acknowledged record(s) lost: {missing[:5]}"
        )
        assert not twice, f"{sender.kind}: duplicated: {[(n, counts[n]) for n in twice[:5]]}"
    assert any("spool replay" in text for text in [*logs, server.log()])
    assert not list((server.data / ".spool").glob("*.seg")), "spool not empty after shutdown"
