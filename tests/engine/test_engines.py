"""The ``TableEngine`` protocol's two implementations under the one ``Pipeline``: which schema
mappers and partitioners each can run (a clear ConfigError, never a silent substitute), the lite
engine's size estimate, and the engine-agnostic batcher's limits with lite tables."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest

from otlp2parquet.assembly import Runtime
from otlp2parquet.engine import make_engine
from otlp2parquet.engine.lite.engine import LiteEngine
from otlp2parquet.engine.lite.mapping import LiteTable
from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import load_table_schema
from support.cloudflare_support import pb_logs
from support.engine_plugins import REASON
from support.signal_samples import example

PB = "application/x-protobuf"


def own_logs_mapper(make_runtime: Callable[..., Runtime], **settings: Any) -> Runtime:
    return make_runtime(
        storage__backend="memory",
        storage__memory__path="/engines-own-mapper",
        plugins__modules=["support.engine_plugins"],
        plugins__disable=["map_logs"],
        **settings,
    )


def test_the_lite_engine_refuses_a_third_party_mapper_under_a_builtin_name(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = own_logs_mapper(make_runtime)
    with pytest.raises(ConfigError) as caught:
        runtime.new_pipeline("lite")
    assert str(caught.value) == (
        "schema mapper 'logs' (support.engine_plugins) for logs has no pyarrow-free form; "
        'disable it or set parquet.engine = "pyarrow"'
    )


def test_the_pyarrow_engine_runs_the_registered_mapper(
    make_runtime: Callable[..., Runtime],
) -> None:
    pipeline = own_logs_mapper(make_runtime).new_pipeline("pyarrow")
    result = pipeline.ingest("logs", example("logs.json"), "application/json")
    assert (result.accepted, result.rejected, result.reasons) == (0, 1, [REASON])
    assert pipeline.flush() == []


def test_the_lite_engine_needs_a_partitioner_that_splits_rows(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(
        storage__backend="memory",
        storage__memory__path="/engines-arrow-only",
        plugins__modules=["support.arrow_only_partitioner"],
        partitioning__scheme="arrow_only",
        batch__enabled=False,
    )
    with pytest.raises(ConfigError) as caught:
        runtime.new_pipeline("lite")
    assert str(caught.value) == (
        "partitioning.scheme 'arrow_only' cannot split plain rows (no split_rows); "
        'set parquet.engine = "pyarrow"'
    )
    pipeline = runtime.new_pipeline("pyarrow")  # the same partitioner serves Arrow tables
    assert pipeline.ingest("logs", pb_logs("checkout", 2), PB).accepted == 2
    (key,) = pipeline.storage.list()
    assert key.startswith("logs/checkout/year=")


def test_an_unknown_engine_name_is_a_config_error(runtime: Runtime) -> None:
    with pytest.raises(ConfigError, match="unknown table engine 'fast'; use pyarrow or lite"):
        make_engine("fast", runtime.config)


def test_the_lite_size_estimate(runtime: Runtime) -> None:
    table = LiteTable(
        load_table_schema("logs"),
        [["ab", None, "cde"], [1, 2, 3], [[("k", "v")], [], None], [None, None, None]],
    )
    # 8 bytes a value; + string lengths (5); + 16 bytes a list item (1)
    assert LiteEngine(runtime.config).nbytes(table) == 24 + 5 + 24 + 24 + 16 + 24


def test_the_batcher_writes_lite_tables_when_a_buffer_is_full(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(
        storage__backend="memory",
        storage__memory__path="/engines-lite-max-rows",
        batch__enabled=True,
        batch__max_rows=5,
    )
    pipeline = runtime.new_pipeline("lite")
    pipeline.ingest("logs", pb_logs("checkout", 3, "first"), PB)
    assert pipeline.storage.list() == [] and pipeline.batcher.buffered_rows == 3
    pipeline.ingest("logs", pb_logs("checkout", 3, "second"), PB)  # 6 rows: over max_rows
    (key,) = pipeline.storage.list()
    assert pipeline.batcher.buffered_rows == 0
    first = pq.read_table(io.BytesIO(pipeline.storage.get(key)))
    assert sorted(first["Body"].to_pylist()) == [
        f"{w} {i}" for w in ("first", "second") for i in range(3)
    ]
    pipeline.ingest("logs", pb_logs("checkout", 2, "third"), PB)
    (written,) = pipeline.flush()
    assert (written.table, written.rows) == ("logs", 2)
    assert sorted(pipeline.storage.list()) == sorted([key, written.key])
    pipeline.close()
