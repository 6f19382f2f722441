"""Hand-built table schemas and Arrow tables for write-path tests (partitioner, batcher, writer,
storage), independent of the real schema files: a ``Seq`` column numbers every row so tests can
prove that no row is lost or duplicated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from otlp2parquet.assembly import bootstrap
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import Partition
from support.settings import settings_layer

HOUR_US = 3_600_000_000
#: 2024-05-06T07:00:00Z in microseconds.
T0 = 1_714_978_800_000_000
TS = pa.timestamp("us", tz="UTC")
ATTRS = pa.map_(pa.string(), pa.string())

ARROW = pa.schema(
    [
        pa.field("Timestamp", TS, nullable=False),
        pa.field("ServiceName", pa.string(), nullable=False),
        pa.field("Body", pa.string(), nullable=False),
        pa.field("Attributes", ATTRS, nullable=False),
        pa.field("Seq", pa.int64(), nullable=False),
    ]
)


def table_schema(
    name: str = "wp_logs", path: str = "logs", time_column: str = "Timestamp"
) -> TableSchema:
    arrow = ARROW.set(0, ARROW.field(0).with_name(time_column))
    return TableSchema(
        name=name,
        table=f"otel_{name[3:]}",
        signal=path.split("/")[0],
        path=path,
        version=1,
        time_column=time_column,
        service_column="ServiceName",
        columns=(),
        arrow_schema=arrow,
    )


LOGS = table_schema()
GAUGE = table_schema("wp_metrics_gauge", "metrics/gauge", "TimeUnix")


def rows(
    times: Sequence[int],
    services: str | Sequence[str] = "checkout",
    start_seq: int = 0,
    schema: TableSchema = LOGS,
) -> pa.Table:
    """One row per time (µs); ``Seq`` counts from ``start_seq``."""
    n = len(times)
    names = [services] * n if isinstance(services, str) else list(services)
    seqs = list(range(start_seq, start_seq + n))
    return pa.table(
        {
            schema.time_column: pa.array(times, TS),
            "ServiceName": names,
            "Body": [f"record {s}" for s in seqs],
            "Attributes": pa.array([[("seq", str(s))] for s in seqs], ATTRS),
            "Seq": pa.array(seqs, pa.int64()),
        },
        schema=schema.arrow_schema,
    )


def partition(service: str = "checkout", hour: int = T0, table: str = LOGS.name) -> Partition:
    return Partition(table, service, hour)


def seqs(tables: Iterable[pa.Table]) -> list[int]:
    """Every ``Seq`` value of ``tables``, sorted."""
    return sorted(s for t in tables for s in t.column("Seq").to_pylist())


#: Decoders and mappers play no part in the write path; leaving them out keeps these tests
#: about partitioning, batching, writing and storage only.
NOT_WRITE_PATH = ["decode_protobuf", "decode_json", "map_logs", "map_traces", "map_metrics"]


def build_pipeline(cwd: Path, **settings: Any) -> Pipeline:
    """A real pipeline from the built-in write-path plugins, configured by ``settings``
    (``storage__backend="memory"`` sets ``storage.backend``), with the hand-built schemas."""
    cli = settings_layer(settings)
    cli.setdefault("plugins.disable", (NOT_WRITE_PATH, "test"))
    pipeline = bootstrap(None, cli, env={}, cwd=cwd).pipeline()
    pipeline.schemas.update({LOGS.name: LOGS, GAUGE.name: GAUGE})
    return pipeline
