"""The pure-Python Parquet writer (``otlp2parquet.engine.lite``): every type, nulls, nesting, row
groups, codecs and footer metadata, read back by pyarrow and DuckDB; the level encoding on its
own."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp2parquet.engine.arrow_writer import ParquetWriter
from otlp2parquet.engine.lite.encoding import hybrid
from otlp2parquet.engine.lite.parquet_writer import FieldSpec, LiteParquetWriter, write_parquet
from otlp2parquet.engine.lite.thrift import I32, encode_struct, zigzag
from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import load_table_schema

MAP = [("a", "1"), ("ü", "🚀")]
FIELDS = [
    FieldSpec("s", "string"),
    FieldSpec("s_null", "string", nullable=True),
    FieldSpec("b", "bool"),
    FieldSpec("i8", "int8"),
    FieldSpec("i16", "int16", nullable=True),
    FieldSpec("i32", "int32"),
    FieldSpec("i64", "int64"),
    FieldSpec("u8", "uint8"),
    FieldSpec("u16", "uint16"),
    FieldSpec("u32", "uint32"),
    FieldSpec("u64", "uint64"),
    FieldSpec("f32", "float32"),
    FieldSpec("f64", "float64", nullable=True),
    FieldSpec("ts_us", "timestamp[us, tz=UTC]"),
    FieldSpec("ts_ns", "timestamp[ns, tz=UTC]"),
    FieldSpec("ts_ms", "timestamp[ms]"),
    FieldSpec("l_i64", "list<int64>"),
    FieldSpec("l_str", "list<string>", nullable=True),
    FieldSpec("l_ts", "list<timestamp[us, tz=UTC]>"),
    FieldSpec("m", "map<string, string>"),
    FieldSpec("m_null", "map<string, string>", nullable=True),
    FieldSpec("l_m", "list<map<string, string>>"),
    FieldSpec("m_l", "map<string, list<float64>>"),
]
COLUMNS: list[list[Any]] = [
    ["", "héllo", "x" * 3000, "日本"],
    [None, "a", None, ""],
    [True, False, False, True],
    [-128, 127, 0, -1],
    [-(2**15), None, 2**15 - 1, 5],
    [-(2**31), 2**31 - 1, 0, 7],
    [-(2**63), 2**63 - 1, 0, 1],
    [0, 255, 128, 1],
    [0, 65535, 40000, 1],
    [0, 2**32 - 1, 2**31, 1],
    [0, 2**64 - 1, 2**63, 1],
    [0.5, -2.0, 1e10, 0.0],
    [1.5, None, float("inf"), -0.0],
    [0, 1_714_557_600_000_000, -1, 253402300799999999],
    [1, 1_714_557_600_000_000_123, -5, 0],
    [0, 1_714_557_600_000, 1, 2],
    [[], [1, -2, 3], [2**62], []],
    [None, [], ["a", "", "ü"], ["x"]],
    [[0], [], [1_714_557_600_000_000, 1], []],
    [[], MAP, [("k", "")], [("only", "v")]],
    [None, [], MAP, None],
    [[], [[], MAP], [[("k", "v")]], [[], []]],
    [[], [("a", [1.0, 2.0]), ("b", [])], [("c", [3.5])], []],
]


def arrow_expected() -> pa.Table:
    def field(spec: FieldSpec) -> pa.Field:
        return pa.field(spec.name, arrow_type(spec.type.replace(" ", "")), spec.nullable)

    def arrow_type(text: str) -> pa.DataType:
        if text.startswith("list<"):
            return pa.list_(pa.field("element", arrow_type(text[5:-1]), False))
        if text.startswith("map<string,"):
            return pa.map_(pa.string(), pa.field("value", arrow_type(text[11:-1]), False))
        if text.startswith("timestamp["):
            unit, _, tz = text[10:-1].partition(",tz=")
            return pa.timestamp(unit, tz or None)
        return pa.type_for_alias(text)

    schema = pa.schema([field(f) for f in FIELDS])
    return pa.Table.from_arrays(
        [pa.array(c, f.type) for c, f in zip(COLUMNS, schema, strict=True)], schema=schema
    )


@pytest.mark.parametrize("compression", ["gzip", "none"])
@pytest.mark.parametrize("row_group_size", [1, 3, 100])
def test_every_type_reads_back_in_pyarrow(compression: str, row_group_size: int) -> None:
    data = write_parquet(FIELDS, COLUMNS, {"k": "v"}, compression, row_group_size)
    file = pq.ParquetFile(io.BytesIO(data))
    expected = arrow_expected()
    table = file.read()
    assert table.schema.equals(expected.schema)
    assert table.equals(expected)
    assert file.metadata.num_row_groups == -(-4 // row_group_size)
    assert {file.metadata.row_group(i).num_rows for i in range(file.metadata.num_row_groups)} <= {
        row_group_size,
        4 % row_group_size or row_group_size,
    }
    codec = "GZIP" if compression == "gzip" else "UNCOMPRESSED"
    assert file.metadata.row_group(0).column(0).compression == codec
    assert file.metadata.metadata == {b"k": b"v"}


def test_every_type_reads_back_in_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "all.parquet"
    path.write_bytes(write_parquet(FIELDS, COLUMNS, row_group_size=2))
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    column_types = {row[0]: row[1] for row in described}
    assert column_types["u64"] == "UBIGINT"
    assert column_types["ts_us"] == "TIMESTAMP WITH TIME ZONE"
    assert column_types["ts_ns"].startswith("TIMESTAMP")
    assert column_types["l_m"] == "MAP(VARCHAR, VARCHAR)[]"
    assert column_types["m_l"] == "MAP(VARCHAR, DOUBLE[])"
    by_name = [dict(zip(column_types, row, strict=True)) for row in rows]
    assert [r["s"] for r in by_name] == COLUMNS[0]
    assert [r["s_null"] for r in by_name] == COLUMNS[1]
    assert [r["u64"] for r in by_name] == COLUMNS[10]
    assert [r["i64"] for r in by_name] == COLUMNS[6]
    assert by_name[1]["ts_us"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert [r["l_str"] for r in by_name] == COLUMNS[17]
    assert [r["m_null"] for r in by_name] == [None, {}, dict(MAP), None]
    assert by_name[1]["l_m"] == [{}, dict(MAP)]
    assert by_name[1]["m_l"] == {"a": [1.0, 2.0], "b": []}


def test_many_rows_and_long_runs_round_trip() -> None:
    count = 70_001
    strings = [f"s{i % 7}" if i % 3 else None for i in range(count)]
    lists = [[i] * (i % 4) for i in range(count)]
    fields = [FieldSpec("s", "string", True), FieldSpec("l", "list<int64>")]
    data = write_parquet(fields, [strings, lists], row_group_size=32768)
    file = pq.ParquetFile(io.BytesIO(data))
    assert [file.metadata.row_group(i).num_rows for i in range(3)] == [32768, 32768, 4465]
    table = file.read()
    assert table.column("s").to_pylist() == strings
    assert table.column("l").to_pylist() == lists


def hybrid_decode(data: bytes, width: int, count: int) -> list[int]:
    """A minimal reader of the RLE/bit-packed hybrid, to check the encoder on its own."""
    out: list[int] = []
    pos = 0
    while len(out) < count:
        header = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            header |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if header & 1:
            groups = header >> 1
            size = groups * width
            bits = int.from_bytes(data[pos : pos + size], "little")
            pos += size
            out.extend((bits >> (i * width)) & ((1 << width) - 1) for i in range(groups * 8))
        else:
            nbytes = (width + 7) // 8
            out.extend([int.from_bytes(data[pos : pos + nbytes], "little")] * (header >> 1))
            pos += nbytes
    return out[:count]


@pytest.mark.parametrize(
    "levels",
    [
        [0],
        [1] * 1000,
        [0, 1, 2, 3] * 50,
        [2] * 3 + [1] * 20 + [0, 1] * 7 + [3] * 9,
        [i % 2 for i in range(17)] + [1] * 300,
    ],
)
def test_level_encoding_decodes_to_the_levels(levels: list[int]) -> None:
    width = max(levels).bit_length() or 1
    assert hybrid_decode(hybrid(levels, width), width, len(levels)) == levels


def test_thrift_compact_struct_bytes() -> None:
    # field 1 (i32 = 5) delta 1, field 20 (long form), stop
    assert encode_struct([(1, I32, 5), (20, I32, -1)]) == bytes([0x15, 10, 0x05, 40, 1, 0])
    assert zigzag(-1) == 1 and zigzag(1) == 2


def test_unsupported_types_and_nulls_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match=r"column 'x'.*unknown Arrow type 'decimal\(10,2\)'"):
        write_parquet([FieldSpec("x", "decimal(10,2)")], [[1]])
    with pytest.raises(ConfigError, match="map<string, T>"):
        write_parquet([FieldSpec("x", "map<int64, string>")], [[[]]])
    with pytest.raises(ValueError, match="column 'x': null in a non-null field"):
        write_parquet([FieldSpec("x", "int64")], [[1, None]])
    with pytest.raises(ValueError, match="column 'x': null in a non-null field"):
        write_parquet([FieldSpec("x", "list<int64>")], [[None]])
    with pytest.raises(ValueError, match="column 'x': null in a non-null field"):
        write_parquet([FieldSpec("x", "list<int64>")], [[[1, None]]])
    with pytest.raises(ValueError, match="column 'x': null in a non-null field"):
        write_parquet([FieldSpec("x", "list<list<int64>>")], [[[[1], None]]])
    with pytest.raises(ConfigError, match="compression none or gzip, not 'zstd'"):
        LiteParquetWriter("zstd")
    with pytest.raises(ConfigError, match="at least 1"):
        LiteParquetWriter(row_group_size=0)


def test_empty_table_and_footer_metadata_match_the_pyarrow_writer() -> None:
    schema = load_table_schema("traces")
    empty = [[] for _ in schema.columns]

    class Table:
        columns = empty

    lite = pq.ParquetFile(io.BytesIO(LiteParquetWriter().to_bytes(Table, schema)))
    normal = pq.ParquetFile(
        io.BytesIO(ParquetWriter().to_bytes(schema.arrow_schema.empty_table(), schema))
    )
    assert lite.metadata.num_rows == 0
    assert lite.schema_arrow.equals(normal.schema_arrow)
    normal_meta = dict(normal.metadata.metadata)
    del normal_meta[b"ARROW:schema"]  # pyarrow's own serialized schema
    assert lite.metadata.metadata == normal_meta
    assert lite.metadata.created_by.startswith("otlp2parquet version")


@pytest.mark.parametrize("row_group_size", [2, 100])
def test_statistics_match_the_pyarrow_writer(row_group_size: int) -> None:
    """Top-level columns (not unsigned ones, whose order is unsigned) carry the null count and
    min/max that pyarrow writes for the same values, so readers skip row groups alike."""
    lite = pq.ParquetFile(io.BytesIO(write_parquet(FIELDS, COLUMNS, row_group_size=row_group_size)))
    sink = io.BytesIO()
    pq.write_table(arrow_expected(), sink, row_group_size=row_group_size)
    normal = pq.ParquetFile(io.BytesIO(sink.getvalue()))
    assert lite.metadata.num_row_groups == normal.metadata.num_row_groups
    checked = 0
    for group in range(lite.metadata.num_row_groups):
        for index in range(lite.metadata.num_columns):
            ours = lite.metadata.row_group(group).column(index)
            theirs = normal.metadata.row_group(group).column(index)
            assert ours.path_in_schema == theirs.path_in_schema
            top = "." not in ours.path_in_schema
            if not top or ours.path_in_schema.startswith("u"):
                assert ours.statistics is None or not ours.statistics.has_min_max
                continue
            mine, reference = ours.statistics, theirs.statistics
            assert mine.null_count == reference.null_count, ours.path_in_schema
            assert mine.has_min_max == reference.has_min_max, ours.path_in_schema
            if mine.has_min_max:
                assert (mine.min, mine.max) == (reference.min, reference.max), ours.path_in_schema
                checked += 1
    assert checked >= 10 * lite.metadata.num_row_groups


def test_statistics_leave_out_nan_and_oversized_bounds() -> None:
    fields = [FieldSpec("f", "float64"), FieldSpec("s", "string")]
    data = write_parquet(fields, [[1.0, float("nan")], ["a", "z" * 5000]])
    meta = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
    for index in range(2):
        stats = meta.column(index).statistics
        assert stats.null_count == 0 and not stats.has_min_max
