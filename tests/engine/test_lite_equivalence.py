"""The pyarrow-free path (lite mappers + lite Parquet writer) against the normal one: for every
example request and for edge cases (nulls, empty lists, unicode, big uint64, maps), the files
read back with pyarrow and with DuckDB are equal column by column and value by value, with the
same Arrow schema; the lite pipeline partitions into the same keys."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.engine.arrow_writer import ParquetWriter
from otlp2parquet.engine.lite.mapping import LitePlan
from otlp2parquet.engine.lite.parquet_writer import LiteParquetWriter
from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import Column, load_table_schema
from support.cloudflare_support import pb_logs
from support.lite_mappers import lite_mapper
from support.signal_samples import (
    SPAN,
    TRACE,
    attrs,
    decoder,
    example,
    full_requests,
    mapper,
    otlp_json,
    value,
)

HOUR = 3_600_000_000_000
T1 = 1_714_557_600_000_000_000  # 2024-05-01T10:00:00Z
EXAMPLES = [
    ("logs.json", "logs"),
    ("events.json", "logs"),
    ("trace.json", "traces"),
    ("metrics.json", "metrics"),
]


def edge_logs() -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    group = request.resource_logs.add()
    group.resource.attributes.extend(attrs([("service.name", "сервис/ü 🚀"), ("b", 1)]))
    records = group.scope_logs.add().log_records
    records.add(
        time_unix_nano=T1,
        body=value({"ключ": ["значение", 2**63 - 1, -(2**63)], "a": b"\xff"}),
        attributes=attrs([("z", "1"), ("a", "2"), ("z", "3"), ("ключ", "日本"), ("e", None)]),
        flags=2**32 - 1,
        severity_number=99,
    )
    records.add(time_unix_nano=T1 + HOUR, observed_time_unix_nano=T1, body=value(""))
    records.add(observed_time_unix_nano=T1 + 2 * HOUR + 1)  # time 0: observed time instead
    other = request.resource_logs.add()
    other.resource.attributes.extend(attrs({"service.name": "cart"}))
    other.scope_logs.add().log_records.add(time_unix_nano=T1 + 5, trace_id=b"\x00" * 16)
    return request


def edge_traces() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    span = spans.add(trace_id=TRACE, span_id=SPAN, kind=99, name="ü", start_time_unix_nano=1)
    span.end_time_unix_nano = 2**64 - 1  # a duration beyond int64: clamped
    span.status.code = 7  # unknown: ''
    span.events.add(time_unix_nano=T1, name="e1")  # no attributes: an empty map
    span.events.add(name="e2", attributes=attrs({"k": "v", "a": 1.5}))
    span.links.add(trace_id=b"\x00" * 16, span_id=b"\x00" * 8)  # zero IDs: ''
    spans.add(start_time_unix_nano=T1 + HOUR, end_time_unix_nano=T1)
    return request


def edge_metrics() -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    metrics = request.resource_metrics.add().scope_metrics.add().metrics
    metrics.add(name="g").gauge.data_points.add(time_unix_nano=T1, as_int=-(2**63))
    histogram = metrics.add(name="h").histogram.data_points
    histogram.add(time_unix_nano=T1, count=2**64 - 1, bucket_counts=[2**63 - 1, 0])
    histogram.add(time_unix_nano=T1 + HOUR, count=1, sum=-0.0, min=1.0)
    exponential = metrics.add(name="e").exponential_histogram.data_points.add(time_unix_nano=T1)
    exponential.negative.offset = -3
    exponential.negative.bucket_counts.extend([1, 2**63 - 1])
    exponential.exemplars.add(span_id=b"\x01" * 8, as_int=2**62)
    summary = metrics.add(name="s").summary.data_points.add(time_unix_nano=T1, count=0)
    summary.quantile_values.add(quantile=0.99, value=float("inf"))
    metrics.add(name="x").sum.data_points.add(time_unix_nano=T1, as_double=float("nan"))
    return request


def edge_requests() -> dict[str, Any]:
    return {"logs": edge_logs(), "traces": edge_traces(), "metrics": edge_metrics()}


def rows_in_duckdb(path: Path) -> tuple[list[Any], list[Any]]:
    relation = f"read_parquet('{path}')"
    described = duckdb.sql(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return [r[:2] for r in described], duckdb.sql(f"SELECT * FROM {relation}").fetchall()


def assert_same_files(signal: str, requests: Any, tmp_path: Path) -> int:
    """Map and write ``requests`` both ways; assert the files are equal; returns the rows."""
    normal = mapper(signal).map(requests)
    lite = lite_mapper(signal).map(requests)
    assert (lite.rejected, lite.reasons) == (normal.rejected, normal.reasons)
    assert list(lite.tables) == list(normal.tables)
    total = 0
    for name, table in normal.tables.items():
        schema = load_table_schema(name)
        expected_bytes = ParquetWriter().to_bytes(table, schema)
        lite_bytes = LiteParquetWriter().to_bytes(lite.tables[name], schema)
        expected = pq.read_table(io.BytesIO(expected_bytes))
        got = pq.read_table(io.BytesIO(lite_bytes))
        assert got.schema.equals(expected.schema), name  # types and nullability
        assert got.num_rows == expected.num_rows == table.num_rows > 0
        for column in expected.column_names:
            want, have = expected.column(column).to_pylist(), got.column(column).to_pylist()
            assert repr(have) == repr(want), f"{name}.{column}"  # repr: nan == nan, -0.0
        meta = dict(pq.ParquetFile(io.BytesIO(expected_bytes)).metadata.metadata)
        del meta[b"ARROW:schema"]
        assert pq.ParquetFile(io.BytesIO(lite_bytes)).metadata.metadata == meta
        (tmp_path / "normal.parquet").write_bytes(expected_bytes)
        (tmp_path / "lite.parquet").write_bytes(lite_bytes)
        want_duck = rows_in_duckdb(tmp_path / "normal.parquet")
        assert repr(rows_in_duckdb(tmp_path / "lite.parquet")) == repr(want_duck), name
        total += table.num_rows
    return total


@pytest.mark.parametrize(("name", "signal"), EXAMPLES)
def test_example_files_are_equal(name: str, signal: str, tmp_path: Path) -> None:
    requests = decoder("json").decode(example(name), signal)
    assert assert_same_files(signal, requests, tmp_path) >= 1


@pytest.mark.parametrize("kind", ["full", "edge"])
@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_sample_requests_are_equal(signal: str, encoding: str, kind: str, tmp_path: Path) -> None:
    request = (full_requests() if kind == "full" else edge_requests())[signal]
    body = request.SerializeToString() if encoding == "protobuf" else otlp_json(request)
    requests = decoder(encoding).decode(body, signal)
    assert assert_same_files(signal, requests, tmp_path) >= 2


def test_every_metric_table_is_covered(tmp_path: Path) -> None:
    requests = decoder("protobuf").decode(full_requests()["metrics"].SerializeToString(), "metrics")
    assert sorted(lite_mapper("metrics").map(requests).tables) == sorted(
        f"metrics_{k}" for k in ("gauge", "sum", "histogram", "exponential_histogram", "summary")
    )


def test_known_values_in_the_lite_logs() -> None:
    requests = decoder("protobuf").decode(edge_logs().SerializeToString(), "logs")
    table = lite_mapper("logs").map(requests).tables["logs"]
    assert table.column("ServiceName") == ["сервис/ü 🚀"] * 3 + ["cart"]
    assert table.column("LogAttributes")[0] == [
        ("a", "2"),
        ("e", ""),
        ("z", "3"),
        ("ключ", "日本"),
    ]
    assert table.column("Timestamp")[2] == (T1 + 2 * HOUR + 1) // 1000
    assert table.column("TraceFlags")[0] == 255
    assert table.column("TraceId")[3] == ""
    assert table.column("Body")[0] == (
        '{"a":"/w==","ключ":["значение",9223372036854775807,-9223372036854775808]}'
    )


def runtime_pipelines(tmp_path: Path) -> tuple[Any, Any]:
    def runtime(name: str) -> Any:
        env = {
            "OTLP2PARQUET_STORAGE_BACKEND": "memory",
            "OTLP2PARQUET_STORAGE_MEMORY_PATH": f"/lite-equivalence-{tmp_path.name}-{name}",
            "OTLP2PARQUET_BATCH_ENABLED": "false",
        }
        return bootstrap(env=env, cwd=tmp_path)

    normal = runtime("normal")
    lite = runtime("lite")
    return normal.pipeline(), lite.new_pipeline("lite")


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_lite_pipeline_writes_the_same_partitions(signal: str, tmp_path: Path) -> None:
    normal, lite = runtime_pipelines(tmp_path)
    body = edge_requests()[signal].SerializeToString()
    try:
        results = [p.ingest(signal, body, "application/x-protobuf") for p in (normal, lite)]
        normal.flush()
    finally:
        normal.close()
    assert results[0] == results[1]
    token = re.compile(r"-[0-9a-f]{32}\.parquet$")
    keys = [sorted(p.storage.list()) for p in (normal, lite)]
    assert [token.sub("", k) for k in keys[1]] == [token.sub("", k) for k in keys[0]]
    assert len(keys[0]) >= 2  # services and hours were split
    for want, have in zip(keys[0], keys[1], strict=True):
        expected = pq.read_table(io.BytesIO(normal.storage.get(want)))
        got = pq.read_table(io.BytesIO(lite.storage.get(have)))
        assert got.schema.equals(expected.schema)
        assert repr(got.to_pylist()) == repr(expected.to_pylist())  # repr: NaN equals NaN


def test_lite_pipeline_with_batching_buffers_until_flush(tmp_path: Path) -> None:
    env = {"OTLP2PARQUET_STORAGE_BACKEND": "memory", "OTLP2PARQUET_BATCH_ENABLED": "true"}
    env["OTLP2PARQUET_STORAGE_MEMORY_PATH"] = f"/lite-batching-{tmp_path.name}"
    runtime = bootstrap(env=env, cwd=tmp_path)
    pipeline = runtime.new_pipeline("lite")
    body = edge_logs().SerializeToString()
    for _ in range(3):
        pipeline.ingest("logs", body, "application/x-protobuf")
    assert pipeline.storage.list() == []
    pipeline.close()
    keys = pipeline.storage.list()
    assert len(keys) == 4  # (service, hour) groups: 3 hours of one service, one of another
    metadata = [pq.read_metadata(io.BytesIO(pipeline.storage.get(k))) for k in keys]
    assert sum(m.num_rows for m in metadata) == 12
    # storage.compression's default, zstd, is not in the standard library: gzip instead
    assert {m.row_group(0).column(0).compression for m in metadata} == {"GZIP"}


def test_lite_pipeline_honours_row_group_size_and_no_compression(tmp_path: Path) -> None:
    env = {
        "OTLP2PARQUET_STORAGE_BACKEND": "memory",
        "OTLP2PARQUET_STORAGE_MEMORY_PATH": f"/lite-row-groups-{tmp_path.name}",
        "OTLP2PARQUET_BATCH_ENABLED": "false",
        "OTLP2PARQUET_STORAGE_PARQUET_ROW_GROUP_SIZE": "2",
        "OTLP2PARQUET_STORAGE_COMPRESSION": "none",
    }
    runtime = bootstrap(env=env, cwd=tmp_path)
    pipeline = runtime.new_pipeline("lite")
    result = pipeline.ingest("logs", pb_logs("checkout", 5), "application/x-protobuf")
    assert result.accepted == 5
    (key,) = pipeline.storage.list()
    metadata = pq.read_metadata(io.BytesIO(pipeline.storage.get(key)))
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [2, 2, 1]
    assert metadata.row_group(0).column(0).compression == "UNCOMPRESSED"


def test_unknown_transform_or_extractor_has_no_lite_form() -> None:
    schema = load_table_schema("logs")
    odd = Column("X", "string", "String", False, "record.body", {"transform": "mystery"})
    with pytest.raises(ConfigError, match="transform 'mystery' has no pyarrow-free form"):
        LitePlan(schema, odd)
    odd = Column("X", "string", "String", False, "extractor:mystery", {"on": "record"})
    with pytest.raises(ConfigError, match="extractor 'mystery' has no pyarrow-free form"):
        LitePlan(schema, odd)


def test_an_unsupported_type_in_a_schema_file_is_a_config_error(tmp_path: Path) -> None:
    text = Path(str(load_table_schema("logs").source_file))
    source = (Path(__file__).parents[2] / text).read_text()
    bad = tmp_path / "odd_logs.toml"
    bad.write_text(source.replace('arrow = "int32"', 'arrow = "uint8"', 1))
    with pytest.raises(ConfigError, match=r"column 4 \(TraceFlags\): unknown Arrow type 'uint8'"):
        load_table_schema(str(bad))
