"""``flush()`` returns the files it wrote, in both table engines."""

from __future__ import annotations

import io
from collections.abc import Callable

import pyarrow.parquet as pq

from otlp2parquet.assembly import Runtime
from otlp2parquet.pipeline.core import Pipeline
from support.signal_samples import example


def test_flush_returns_the_files_it_wrote(pipeline: Pipeline) -> None:
    assert pipeline.ingest("logs", example("logs.json"), "application/json").accepted == 1
    assert pipeline.ingest("traces", example("trace.json"), "application/json").accepted == 1
    files = sorted(pipeline.flush(), key=lambda f: f.table)
    assert [(f.table, f.rows) for f in files] == [("logs", 1), ("traces", 1)]
    assert sorted(pipeline.storage.list()) == sorted(f.key for f in files)
    for written in files:
        data = pipeline.storage.get(written.key)
        assert len(data) == written.bytes
        assert pq.read_metadata(io.BytesIO(data)).num_rows == written.rows
    assert pipeline.flush() == []


def test_the_lite_engine_flush_returns_the_files_too(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(storage__backend="memory", storage__memory__path="/lite-flush")
    lite = runtime.new_pipeline("lite")
    lite.ingest("logs", example("logs.json"), "application/json")
    files = lite.flush()
    assert [(f.table, f.rows, f.key) for f in files] == [("logs", 1, lite.storage.list()[0])]
    assert lite.flush() == []
    lite.close()
