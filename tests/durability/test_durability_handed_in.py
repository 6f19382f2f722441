"""The pipeline is handed its durability: the spool when ``Runtime.pipeline(durable=True)``
opens one, the ``NoDurability`` null object otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from otlp2parquet.assembly import Runtime
from otlp2parquet.durability.none import NO_DURABILITY, NoDurability
from otlp2parquet.durability.spool import Spool
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.types import Partition
from support.signal_samples import example


def test_a_pipeline_without_a_spool_has_the_null_durability(pipeline: Pipeline) -> None:
    assert pipeline.durability is NO_DURABILITY and pipeline.spool is None
    pipeline.ingest("logs", example("logs.json"), "application/json")
    (written,) = pipeline.flush()
    assert written.key.endswith(".parquet") and pipeline.storage.list() == [written.key]


def test_durable_opens_the_spool_and_hands_it_over(
    make_runtime: Callable[..., Runtime], tmp_path: Path
) -> None:
    runtime = make_runtime(storage__fs__path=str(tmp_path / "lake"), batch__max_age_secs=3600)
    pipeline = runtime.pipeline(durable=True)
    assert isinstance(pipeline.durability, Spool) and pipeline.spool is pipeline.durability
    assert pipeline.spool.directory == tmp_path / "lake" / ".spool"
    pipeline.ingest("logs", example("logs.json"), "application/json")
    assert pipeline.spool.stats()["bytes"] > 0
    assert runtime.pipeline(durable=True) is pipeline
    pipeline.close()


def test_durable_on_a_memory_store_has_none(make_runtime: Callable[..., Runtime]) -> None:
    pipeline = make_runtime(storage__backend="memory").pipeline(durable=True)
    assert pipeline.durability is NO_DURABILITY
    pipeline.close()


def test_the_null_durability_keeps_nothing() -> None:
    none = NoDurability()
    partition = Partition("logs", "svc", 0)
    assert none.key_for("token") is None and none.stats() == {}
    assert none.token(partition, [1]) != none.token(partition, [1])  # random names
    with pytest.raises(RuntimeError, match="durability is off"):
        none.append("logs", "application/json", b"{}", parts=1)
