"""Helpers for the durability tests: numbered log requests, pipelines with a spool, simulated
crashes and reading back which records landed (and how often)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from otlp2parquet.assembly import bootstrap
from otlp2parquet.pipeline.core import Pipeline
from support.settings import settings_layer

PROTOBUF = "application/x-protobuf"
#: 2024-05-06T07:00:00Z in nanoseconds.
T0_NS = 1_714_978_800_000_000_000
HOUR_NS = 3_600_000_000_000


def logs_body(ids: Iterable[int], service: str = "checkout", hour: int = 0) -> bytes:
    """One protobuf logs request with a record ``rec-{id}`` per id."""
    records = [
        LogRecord(
            time_unix_nano=T0_NS + hour * HOUR_NS + i,
            body=AnyValue(string_value=f"rec-{i}"),
            attributes=[KeyValue(key="id", value=AnyValue(int_value=i))],
        )
        for i in ids
    ]
    resource = Resource(
        attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))]
    )
    request = ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)])]
    )
    return request.SerializeToString()


def build(tmp: Path, **settings: Any) -> Pipeline:
    """A server pipeline writing to ``tmp/lake`` with its spool open (and replayed)."""
    cli = settings_layer(settings)
    cli.setdefault("storage.fs.path", (str(tmp / "lake"), "test"))
    cli.setdefault("batch.max_age_secs", (3600, "test"))
    cli.setdefault("batch.retry_initial_secs", (0.01, "test"))
    cli.setdefault("batch.retry_max_secs", (0.05, "test"))
    runtime = bootstrap(None, cli, env={}, cwd=tmp)
    return runtime.pipeline(durable=True)


def crash(pipeline: Pipeline) -> None:
    """What SIGKILL leaves: no flush, no cleanup; only the spool's lock goes with the process."""
    spool = pipeline.spool
    assert spool is not None
    spool.files.stop_syncing()  # the background fsync thread, if any
    if spool._lock_fd is not None:
        os.close(spool._lock_fd)
        spool._lock_fd = None


def landed(root: Path) -> Counter[str]:
    """How many times each log body is in the Parquet files under ``root``."""
    counts: Counter[str] = Counter()
    for path in sorted(root.rglob("*.parquet")):
        counts.update(pq.read_table(path, columns=["Body"]).column("Body").to_pylist())
    return counts


def expect_once(root: Path, ids: Iterable[int]) -> None:
    counts = landed(root)
    wanted = {f"rec-{i}" for i in ids}
    missing = sorted(wanted - set(counts))
    twice = sorted(k for k, n in counts.items() if n > 1)
    assert not missing and not twice, f"missing {missing[:10]}, duplicated {twice[:10]}"
    assert set(counts) == wanted


def segments(pipeline: Pipeline) -> list[Path]:
    assert pipeline.spool is not None
    return sorted(pipeline.spool.directory.glob("*.seg"))
