"""The batcher with the real partitioner, writer and storage: one file per key per flush, size and
age flushes, backpressure, storage failures and recovery without losing or duplicating a row."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp2parquet.errors import Backpressure, StorageError
from otlp2parquet.http.errors import status_of
from otlp2parquet.pipeline.batcher import Batcher
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.types import MappedBatch, WrittenFile
from support.s3 import S3_KEY, S3_REGION, S3_SECRET, create_bucket, free_port
from support.writepath_tables import HOUR_US, LOGS, T0, build_pipeline, rows, seqs


class Flushes:
    """Records each ``on_flushed`` call (one per flush cycle)."""

    def __init__(self) -> None:
        self.cycles: list[list[WrittenFile]] = []
        self.event = threading.Event()

    def __call__(self, files: Sequence[WrittenFile]) -> None:
        self.cycles.append(list(files))
        self.event.set()

    @property
    def files(self) -> list[WrittenFile]:
        return [f for cycle in self.cycles for f in cycle]


def make(pipeline: Pipeline, flushes: Flushes, **settings: Any) -> Batcher:
    options: dict[str, Any] = {
        "max_rows": 1_000_000,
        "max_bytes": 1 << 30,
        "max_age_secs": 3600,
        "max_buffered_bytes": 1 << 30,
        "retry_initial_secs": 0.05,
        "retry_max_secs": 0.2,
    }
    options.update(settings)
    return Batcher(write=pipeline.write_file, on_flushed=flushes, engine=pipeline.engine, **options)


def split(pipeline: Pipeline, table: pa.Table) -> list[tuple[Any, pa.Table]]:
    return list(pipeline.partitioner.split(LOGS, table))


def stored(pipeline: Pipeline) -> list[pa.Table]:
    storage = pipeline.storage
    return [pq.read_table(io.BytesIO(storage.get(key))) for key in storage.list()]


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return build_pipeline(tmp_path, storage__backend="fs", storage__fs__path=str(tmp_path / "lake"))


def test_one_file_per_key_per_flush(pipeline: Pipeline) -> None:
    flushes = Flushes()
    batcher = make(pipeline, flushes)
    for i in range(5):  # five requests, two services, two hours
        table = rows([T0 + i, T0 + HOUR_US + i], ["a", "b"], start_seq=2 * i)
        batcher.add_many(split(pipeline, table))
    assert batcher.buffered_rows == 10
    assert batcher.buffered_bytes > 0
    batcher.flush()
    assert len(flushes.cycles) == 1
    keys = sorted(f.key for f in flushes.files)
    assert len(keys) == 2
    assert keys[0].startswith("logs/a/year=2024/month=05/day=06/hour=07/")
    assert keys[1].startswith("logs/b/year=2024/month=05/day=06/hour=08/")
    assert {f.rows for f in flushes.files} == {5}
    assert seqs(stored(pipeline)) == list(range(10))
    assert batcher.buffered_rows == batcher.buffered_bytes == 0
    batcher.flush()  # nothing left: no empty cycle
    assert len(flushes.cycles) == 1


def test_batch_spanning_an_hour_boundary_is_split(pipeline: Pipeline) -> None:
    times = [T0 - 2, T0 - 1, T0, T0 + 1]
    pipeline.ingest_mapped(MappedBatch(tables={LOGS.name: rows(times)}))
    pipeline.flush()
    keys = pipeline.storage.list()
    assert [k.split("/")[5] for k in keys] == ["hour=06", "hour=07"]
    assert keys[0].split("/")[-1].startswith(f"{T0 - 2}-")
    assert keys[1].split("/")[-1].startswith(f"{T0}-")
    tables = stored(pipeline)
    assert [t.column("Seq").to_pylist() for t in tables] == [[0, 1], [2, 3]]


def test_age_flush_by_the_background_thread(pipeline: Pipeline) -> None:
    flushes = Flushes()
    batcher = make(pipeline, flushes, max_age_secs=0.2)
    batcher.start()
    try:
        batcher.add_many(split(pipeline, rows([T0])))
        started = time.monotonic()
        assert flushes.event.wait(5)
        assert time.monotonic() - started >= 0.15
        assert batcher.buffered_rows == 0
        assert seqs(stored(pipeline)) == [0]
    finally:
        batcher.close()


@pytest.mark.parametrize("limit", [{"max_bytes": 1}, {"max_rows": 3}])
def test_size_flush_with_and_without_the_thread(pipeline: Pipeline, limit: dict) -> None:
    flushes = Flushes()
    batcher = make(pipeline, flushes, **limit)
    batcher.add_many(split(pipeline, rows([T0, T0 + 1, T0 + 2])))
    assert len(flushes.files) == 1  # no thread: written by the adding call
    batcher.start()
    try:
        flushes.event.clear()
        batcher.add_many(split(pipeline, rows([T0, T0 + 1, T0 + 2], start_seq=3)))
        assert flushes.event.wait(5)
    finally:
        batcher.close()
    assert len(flushes.files) == 2
    assert seqs(stored(pipeline)) == list(range(6))


def test_backpressure_instead_of_growing(pipeline: Pipeline) -> None:
    flushes = Flushes()
    first = split(pipeline, rows([T0] * 10))
    batcher = make(pipeline, flushes, max_buffered_bytes=first[0][1].nbytes + 1)
    batcher.start()
    try:
        batcher.add_many(first)
        held = batcher.buffered_bytes
        with pytest.raises(Backpressure) as info:
            batcher.add_many(split(pipeline, rows([T0] * 10, start_seq=10)))
        assert info.value.retry_after >= 1
        assert status_of(info.value) == 429
        assert batcher.buffered_bytes == held  # nothing of the refused request was kept
        batcher.flush()
        batcher.add_many(split(pipeline, rows([T0] * 10, start_seq=10)))
    finally:
        batcher.close()
    assert seqs(stored(pipeline)) == list(range(20))


def test_storage_failure_then_recovery_loses_and_duplicates_nothing(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    blocker = tmp_path / "lake" / "logs"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the logs directory must go")
    flushes = Flushes()
    batcher = make(pipeline, flushes)
    batcher.add_many(split(pipeline, rows([T0, T0 + 1])))
    with pytest.raises(StorageError, match="stay buffered"):
        batcher.flush()
    assert batcher.failing and not batcher.healthy
    assert "cannot write" in (batcher.last_error or "")
    assert batcher.buffered_rows == 2
    stats = batcher.stats()
    assert (stats["buffers"], stats["buffered_rows"], stats["failing"]) == (1, 2, True)
    batcher.add_many(split(pipeline, rows([T0 + 2], start_seq=2)))  # arrives meanwhile
    with pytest.raises(StorageError):
        batcher.close(timeout=0.1)  # closing never drops rows silently
    assert batcher.buffered_rows == 3
    blocker.unlink()
    batcher.flush()
    assert batcher.healthy and batcher.buffered_rows == 0
    # The failed file is retried as it was (same rows, same key); later rows get their own.
    assert len(flushes.files) == 2
    assert len({f.key for f in flushes.files}) == 2
    assert seqs(stored(pipeline)) == [0, 1, 2]


def test_background_retries_with_backoff_until_storage_recovers(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    blocker = tmp_path / "lake" / "logs"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("blocked")
    flushes = Flushes()
    batcher = make(pipeline, flushes, max_age_secs=0.05)
    batcher.start()
    try:
        batcher.add_many(split(pipeline, rows([T0, T0 + 1])))
        deadline = time.monotonic() + 5
        while batcher.healthy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert batcher.failing
        time.sleep(0.3)  # several retries fail meanwhile
        assert not flushes.cycles and batcher.buffered_rows == 2
        blocker.unlink()
        assert flushes.event.wait(5)
    finally:
        batcher.close()
    assert batcher.healthy
    assert seqs(stored(pipeline)) == [0, 1]


def test_stopped_s3_server_then_recovery(tmp_path: Path, monkeypatch) -> None:
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # fail fast instead of botocore's retries
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    bucket = create_bucket(endpoint)
    pipeline = build_pipeline(
        tmp_path,
        storage__backend="s3",
        storage__s3__bucket=bucket,
        storage__s3__endpoint=endpoint,
        storage__s3__region=S3_REGION,
        storage__s3__access_key_id=S3_KEY,
        storage__s3__secret_access_key=S3_SECRET,
    )
    flushes = Flushes()
    batcher = make(pipeline, flushes)
    batcher.add_many(split(pipeline, rows([T0, T0 + 1])))
    server.stop()
    with pytest.raises(StorageError, match=f"bucket '{bucket}' at endpoint {endpoint}"):
        batcher.flush()
    assert batcher.failing and batcher.buffered_rows == 2
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        batcher.add_many(split(pipeline, rows([T0 + 2], start_seq=2)))
        batcher.close()
        assert seqs(stored(pipeline)) == [0, 1, 2]
        assert len(flushes.files) == 2 and batcher.healthy  # the failed file, then the new one
    finally:
        server.stop()


def test_batching_off_writes_before_returning_and_raises(pipeline: Pipeline, tmp_path) -> None:
    flushes = Flushes()
    batcher = make(pipeline, flushes, enabled=False)
    batcher.start()  # nothing to start
    batcher.add_many(split(pipeline, rows([T0, T0 + HOUR_US])))
    assert len(flushes.cycles) == 1 and len(flushes.files) == 2
    assert seqs(stored(pipeline)) == [0, 1]
    (tmp_path / "lake" / "logs" / "blocked").write_text("x")
    blocked = rows([T0], "blocked", start_seq=2)
    with pytest.raises(StorageError, match="cannot write"):
        batcher.add_many(split(pipeline, blocked))
    assert batcher.failing and batcher.buffered_rows == 0


def test_concurrent_adds_while_flushing(pipeline: Pipeline) -> None:
    flushes = Flushes()
    batcher = make(pipeline, flushes, max_rows=40, max_age_secs=0.05)
    batcher.start()

    def producer(worker: int) -> None:
        for i in range(25):
            seq = worker * 1000 + i * 2
            table = rows([T0 + seq, T0 + HOUR_US + seq], f"svc{worker % 3}", start_seq=seq)
            batcher.add_many(split(pipeline, table))

    threads = [threading.Thread(target=producer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    expected = sorted(w * 1000 + i for w in range(8) for i in range(50))
    assert seqs(stored(pipeline)) == expected
    assert sum(f.rows for f in flushes.files) == len(expected)
    assert batcher.buffered_rows == 0
