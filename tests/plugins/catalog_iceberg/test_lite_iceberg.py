"""The pyarrow-free Iceberg pieces: Avro container files, and manifests that pyiceberg reads
(and manifest lists pyiceberg wrote, read back here)."""

from __future__ import annotations

import struct
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import FileFormat, ManifestContent, ManifestEntryStatus
from pyiceberg.manifest import read_manifest_list as iceberg_read_manifest_list

from otlp2parquet.errors import CatalogError
from otlp2parquet.plugins.catalog_iceberg.lite import avro
from otlp2parquet.plugins.catalog_iceberg.lite.iceberg_manifest import (
    DataFile,
    TableLayout,
    manifest,
    manifest_list,
    partition_values,
    read_manifest_list,
)
from otlp2parquet.schema.tables import load_table_schema
from support.iceberg_support import synthetic_table
from support.iceberg_tables import _table

HOUR_US = 3_600_000_000
T0_US = 1_714_557_600_000_000  # 2024-05-01T10:00:00Z

NESTED = {
    "type": "record",
    "name": "outer",
    "fields": [
        {"name": "n", "type": "long", "field-id": 1},
        {"name": "f", "type": ["null", {"type": "fixed", "name": "f4", "size": 4}]},
        {"name": "again", "type": ["null", "f4"]},
        {"name": "tags", "type": {"type": "map", "values": "string"}},
        {"name": "xs", "type": {"type": "array", "items": ["null", "double"]}},
        {"name": "flag", "type": "boolean"},
        {"name": "e", "type": {"type": "enum", "name": "kind", "symbols": ["A", "B"]}},
        {"name": "raw", "type": "bytes"},
    ],
}
RECORDS = [
    {
        "n": -(2**63),
        "f": None,
        "again": b"abcd",
        "tags": {"k": "vé"},
        "xs": [1.5, None],
        "flag": True,
        "e": "B",
        "raw": b"\x00\xff",
    },
    {"n": 2**63 - 1, "f": b"wxyz", "again": None, "tags": {}, "xs": [], "flag": False, "e": "A"}
    | {"raw": b""},
]


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_avro_container_round_trip(codec: str) -> None:
    data = avro.write_container(NESTED, RECORDS, {"who": "me"}, codec=codec)
    schema, metadata, records = avro.read_container(data)
    assert records == RECORDS
    assert schema == NESTED and metadata["who"] == "me" and metadata["avro.codec"] == codec
    assert avro.field_ids(schema) == {1: "n"}


def test_avro_errors_are_precise() -> None:
    data = avro.write_container(NESTED, RECORDS)
    with pytest.raises(avro.AvroError, match="bad magic"):
        avro.read_container(b"PAR1" + data[4:])
    with pytest.raises(avro.AvroError, match="truncated"):
        avro.read_container(data[:-20])
    with pytest.raises(avro.AvroError, match="sync marker"):
        avro.read_container(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(avro.AvroError, match="codec 'snappy'"):
        avro.write_container(NESTED, RECORDS, codec="snappy")
    with pytest.raises(avro.AvroError, match="unknown Avro type 'missing'"):
        avro.write_container({"type": "array", "items": "missing"}, [[1]])
    with pytest.raises(avro.AvroError, match="no union branch"):
        avro.write_container({"type": "array", "items": ["null"]}, [[1]])


def test_zigzag_matches_the_avro_spec_examples() -> None:
    assert [avro.zigzag(v) for v in (0, -1, 1, -2, 2, -64, 64)] == [
        b"\x00",
        b"\x01",
        b"\x02",
        b"\x03",
        b"\x04",
        b"\x7f",
        b"\x80\x01",
    ]


def _file(path: str, service: str = "checkout", start: int = T0_US, rows: int = 3) -> DataFile:
    return DataFile(path, rows, 1234, "ServiceName", service, "Timestamp", start, start + 5)


def test_manifest_and_list_are_read_by_pyiceberg(tmp_path: Path) -> None:
    _, table = _table(tmp_path)
    layout = TableLayout.from_metadata(table.metadata.model_dump(by_alias=True), "otel_logs")
    files = [_file("s3://b/logs/a.parquet"), _file("s3://b/logs/b.parquet", "cart", T0_US + 7)]
    data, summaries = manifest(layout, files, snapshot_id=42)
    (tmp_path / "m.avro").write_bytes(data)
    entry = {
        "manifest_path": str(tmp_path / "m.avro"),
        "manifest_length": len(data),
        "partition_spec_id": 0,
        "content": 0,
        "sequence_number": 5,
        "min_sequence_number": 5,
        "added_snapshot_id": 42,
        "added_files_count": 2,
        "existing_files_count": 0,
        "deleted_files_count": 0,
        "added_rows_count": 6,
        "existing_rows_count": 0,
        "deleted_rows_count": 0,
        "partitions": summaries,
        "key_metadata": None,
    }
    (tmp_path / "l.avro").write_bytes(manifest_list([entry], 42, None, 5))
    io = PyArrowFileIO()
    (listed,) = iceberg_read_manifest_list(io.new_input(str(tmp_path / "l.avro")))
    assert listed.added_snapshot_id == 42 and listed.sequence_number == 5
    assert listed.content == ManifestContent.DATA and listed.added_rows_count == 6
    hour = T0_US // HOUR_US
    assert [p.lower_bound for p in listed.partitions] == [b"cart", struct.pack("<i", hour)]
    entries = listed.fetch_manifest_entry(io)
    assert [e.status for e in entries] == [ManifestEntryStatus.ADDED] * 2
    assert [e.sequence_number for e in entries] == [5, 5]  # inherited from the list
    first = entries[0].data_file
    assert first.file_path == "s3://b/logs/a.parquet" and first.file_format == FileFormat.PARQUET
    assert first.record_count == 3 and first.file_size_in_bytes == 1234
    assert tuple(first.partition) == ("checkout", hour)
    time_id = layout.ids["Timestamp"]
    assert first.lower_bounds[time_id] == struct.pack("<q", T0_US)
    assert first.upper_bounds[time_id] == struct.pack("<q", T0_US + 5)


def test_manifest_lists_written_by_pyiceberg_are_carried_forward(tmp_path: Path) -> None:
    catalog, table = _table(tmp_path)
    arrow = synthetic_table(load_table_schema("logs"), 2, "svc", T0_US)
    pq.write_table(arrow, tmp_path / "f.parquet")
    table.add_files([str(tmp_path / "f.parquet")])
    table = catalog.load_table(("otlp", "otel_logs"))
    path = table.current_snapshot().manifest_list.removeprefix("file://")
    (ours,) = read_manifest_list(Path(path).read_bytes())
    (theirs,) = table.current_snapshot().manifests(table.io)
    assert ours["manifest_path"] == theirs.manifest_path
    assert ours["added_snapshot_id"] == theirs.added_snapshot_id
    assert ours["added_rows_count"] == 2 and ours["content"] == 0
    assert ours["partitions"][0]["lower_bound"] == b"svc"
    rewritten = manifest_list([ours], 7, theirs.added_snapshot_id, 2)
    (tmp_path / "again.avro").write_bytes(rewritten)
    (back,) = iceberg_read_manifest_list(PyArrowFileIO().new_input(str(tmp_path / "again.avro")))
    assert back.manifest_path == theirs.manifest_path
    assert back.sequence_number == theirs.sequence_number
    assert back.partitions == theirs.partitions


def test_partition_values_and_their_limits(tmp_path: Path) -> None:
    _, table = _table(tmp_path)
    layout = TableLayout.from_metadata(table.metadata.model_dump(by_alias=True), "otel_logs")
    values = partition_values(layout, _file("p", start=T0_US + HOUR_US))
    assert values == {"ServiceName": "checkout", "Timestamp_hour": T0_US // HOUR_US + 1}
    spanning = DataFile("p", 1, 1, "ServiceName", "s", "Timestamp", T0_US, T0_US + HOUR_US)
    with pytest.raises(CatalogError, match="spans more than one hour of Timestamp"):
        partition_values(layout, spanning)
    metadata = table.metadata.model_dump(by_alias=True)
    metadata["partition-specs"][0]["fields"][0]["transform"] = "bucket[16]"
    with pytest.raises(CatalogError, match=r"bucket\[16\] of ServiceName\) is not supported"):
        TableLayout.from_metadata(metadata, "otel_logs")
    metadata["format-version"] = 1
    with pytest.raises(CatalogError, match="format v1"):
        TableLayout.from_metadata(metadata, "otel_logs")
