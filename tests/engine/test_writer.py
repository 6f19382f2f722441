"""The Parquet writer: codecs, dictionary encoding, statistics, page index, row groups and
footer metadata."""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp2parquet import __version__
from otlp2parquet.engine.arrow_writer import ParquetWriter
from otlp2parquet.errors import ConfigError
from support.writepath_tables import LOGS, T0, rows


def parquet(data: bytes) -> pq.ParquetFile:
    return pq.ParquetFile(io.BytesIO(data))


@pytest.mark.parametrize(
    ("compression", "codec"),
    [("zstd", "ZSTD"), ("snappy", "SNAPPY"), ("gzip", "GZIP"), ("none", "UNCOMPRESSED")],
)
def test_codecs_round_trip(compression: str, codec: str) -> None:
    table = rows([T0 + i for i in range(100)])
    data = ParquetWriter(compression, compression_level=3).to_bytes(table, LOGS)
    file = parquet(data)
    assert file.metadata.row_group(0).column(0).compression == codec
    assert file.read().equals(table)


def test_zstd_is_the_default_with_dictionary_statistics_and_page_index() -> None:
    table = rows([T0 + i for i in range(1000)], ["a", "b"] * 500)
    file = parquet(ParquetWriter().to_bytes(table, LOGS))
    service = file.metadata.row_group(0).column(1)
    assert service.compression == "ZSTD"
    assert "RLE_DICTIONARY" in service.encodings
    assert service.statistics.has_min_max
    assert (service.statistics.min, service.statistics.max) == ("a", "b")
    assert service.has_column_index and service.has_offset_index


def test_row_group_size_is_honoured() -> None:
    table = rows([T0 + i for i in range(250)])
    file = parquet(ParquetWriter(row_group_size=100).to_bytes(table, LOGS))
    assert [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)] == [
        100,
        100,
        50,
    ]


def test_footer_metadata_names_version_schema_and_table() -> None:
    meta = parquet(ParquetWriter().to_bytes(rows([T0]), LOGS)).metadata.metadata
    assert meta[b"otlp2parquet.version"] == __version__.encode()
    assert meta[b"otlp2parquet.schema_version"] == b"1"
    assert meta[b"otlp2parquet.table"] == b"otel_logs"
    assert meta[b"otlp2parquet.schema"] == LOGS.name.encode()


def test_table_is_cast_to_the_declared_schema() -> None:
    table = rows([T0, T0 + 1])
    loose = pa.table(
        {name: table.column(name) for name in reversed(table.column_names)}
    ).set_column(0, "Seq", pa.array([0, 1], pa.int32()))
    file = parquet(ParquetWriter().to_bytes(loose, LOGS))
    assert file.schema_arrow.remove_metadata().equals(LOGS.arrow_schema)
    assert file.read().column("Seq").to_pylist() == [0, 1]


def test_duckdb_reads_the_bytes(tmp_path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(ParquetWriter().to_bytes(rows([T0, T0 + 1], "svc"), LOGS))
    got = duckdb.sql(f"SELECT ServiceName, Seq FROM read_parquet('{path}') ORDER BY Seq").fetchall()
    assert got == [("svc", 0), ("svc", 1)]


def test_unknown_codec_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"storage\.compression 'lz5'"):
        ParquetWriter("lz5")
