"""``otlp2parquet convert`` on the files the Collector's fileexporter writes (JSON lines,
``format: proto`` with 4-byte big-endian lengths, the older per-message zstd of ``format: json``
with ``compression: zstd``), varint-delimited protobuf, and whole-file zstd or gzip; and one
line, exit 2, for a file in none of them."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from otlp2parquet.cli.capture_frames import fixed_frames, is_request, varint_frames
from otlp2parquet.cli.convert import merged
from support.wire_support import varint

T_NS = 1_714_978_800_000_000_000


def request(service: str, *bodies: str) -> dict:
    records = [
        {"timeUnixNano": str(T_NS + i), "body": {"stringValue": b}} for i, b in enumerate(bodies)
    ]
    attrs = [{"key": "service.name", "value": {"stringValue": service}}]
    return {
        "resourceLogs": [
            {"resource": {"attributes": attrs}, "scopeLogs": [{"logRecords": records}]}
        ]
    }


def pb(message: dict) -> bytes:
    return json_format.ParseDict(message, ExportLogsServiceRequest()).SerializeToString()


def zstd(data: bytes) -> bytes:
    return pa.Codec("zstd").compress(data, asbytes=True)


def fixed(*messages: bytes) -> bytes:
    return b"".join(len(m).to_bytes(4, "big") + m for m in messages)


def delimited(*messages: bytes) -> bytes:
    return b"".join(varint(len(m)) + m for m in messages)


REQUESTS = [request("svc", "a0", "a1"), request("svc", "b0"), request("other", "c0")]
EXPECTED = [("other", "c0"), ("svc", "a0"), ("svc", "a1"), ("svc", "b0")]
PROTOS = [pb(r) for r in REQUESTS]
LINES = b"".join(json.dumps(r).encode() + b"\n" for r in REQUESTS)

FILES = {
    "logs.json": LINES,  # format: json
    "logs.proto": fixed(*PROTOS),  # format: proto
    "capture": fixed(*PROTOS),  # no telling name
    "logs-legacy.json": fixed(*(zstd(json.dumps(r).encode()) for r in REQUESTS)),  # json + zstd
    "logs-legacy-proto": fixed(*(zstd(p) for p in PROTOS)),  # proto + zstd, older releases
    "logs.delimited": delimited(*PROTOS),
    "logs.jsonl.zst": zstd(LINES),  # native compression: the whole file
    "logs.proto.zst": zstd(fixed(*PROTOS)),
    "zstd-by-magic": zstd(fixed(*PROTOS)),
    "logs.proto.gz": gzip.compress(fixed(*PROTOS)),
    "delimited-gzip-by-magic": gzip.compress(delimited(*PROTOS)),
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTLP2PARQUET_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "otlp2parquet", "convert", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )  # fmt: skip


def errors(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("otlp2parquet: error")]


@pytest.mark.parametrize("name", list(FILES))
def test_each_format_lands_every_record(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(FILES[name])
    out = tmp_path / "lake"
    result = run(name, "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "converted 1 of 1 input file(s): 4 record(s) written" in result.stdout
    got = duckdb.sql(
        f"SELECT ServiceName, Body FROM read_parquet('{out}/logs/**/*.parquet') ORDER BY ALL"
    ).fetchall()
    assert got == EXPECTED


def test_format_flag_json_still_reads_the_legacy_framing(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(FILES["logs-legacy.json"])
    result = run("x", "--format", "json", "-o", "lake", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 record(s) written" in result.stdout


FORMATS = "4-byte big-endian length (the Collector's fileexporter format: proto)"


@pytest.mark.parametrize(
    ("content", "saw"),
    [
        (b"\x00\x00\x00\x09\x0a\x02", "it starts with the bytes 00 00 00 09 0a 02"),
        (b"hello world\n", "it starts with the text 'hello world\\n'"),
        (b"\xff\xfe\x00", "it starts with the bytes ff fe 00"),
    ],
)
def test_an_unreadable_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes, saw: str):
    (tmp_path / "good.json").write_bytes(FILES["logs.json"])
    (tmp_path / "mystery").write_bytes(content)
    result = run("good.json", "mystery", "-o", "lake", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = errors(result)
    assert "mystery: not a format convert reads: " + saw in line
    assert FORMATS in line and "JSON Lines" in line and "zstd" in line
    assert "converted 1 of 2 input file(s): 4 record(s) written" in result.stdout


def test_a_zst_name_without_zstd_content_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "logs.json.zst").write_bytes(LINES)
    result = run("logs.json.zst", "-o", "lake", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = errors(result)
    assert "named as zstd-compressed but does not start with zstd's magic bytes" in line
    assert "it starts with the text '{\"resourceLogs\":'" in line


def test_corrupt_zstd_is_exit_1_naming_it(tmp_path: Path) -> None:
    (tmp_path / "logs.zst").write_bytes(zstd(LINES)[:-8])
    result = run("logs.zst", "-o", "lake", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = errors(result)
    assert "looks zstd-compressed but cannot be decompressed" in line


def test_a_bad_message_among_frames_names_its_position(tmp_path: Path) -> None:
    (tmp_path / "logs.proto").write_bytes(fixed(PROTOS[0], b"\x0a\x05\x12"))
    result = run("logs.proto", "-o", "lake", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = errors(result)
    assert "4-byte length-prefixed message 2 of 2: invalid protobuf" in line


def test_the_messages_before_a_bad_one_are_converted(tmp_path: Path) -> None:
    """Good messages go through merged; when the merged body fails, they are decoded one by
    one, so those before the bad one land and the error names the bad one."""
    (tmp_path / "logs.proto").write_bytes(fixed(PROTOS[0], PROTOS[1], b"\x0a\x05\x12", PROTOS[2]))
    out = tmp_path / "lake"
    result = run("logs.proto", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 1
    (line,) = errors(result)
    assert "4-byte length-prefixed message 3 of 4: invalid protobuf" in line
    got = duckdb.sql(
        f"SELECT ServiceName, Body FROM read_parquet('{out}/logs/**/*.parquet') ORDER BY ALL"
    ).fetchall()
    assert got == [("svc", "a0"), ("svc", "a1"), ("svc", "b0")]


def test_consecutive_protobuf_messages_are_merged_up_to_the_limit() -> None:
    messages = [("protobuf", b"a" * 4), ("protobuf", b"b" * 4), ("protobuf", b"c" * 9)]
    messages += [("json", b"{}"), ("protobuf", b"d"), ("protobuf", b"e")]
    got = [(kind, [n for n, _ in run]) for kind, run in merged(messages, limit=8)]
    assert got == [
        ("protobuf", [1, 2]),
        ("protobuf", [3]),  # bigger than the limit: alone
        ("json", [4]),
        ("protobuf", [5, 6]),
    ]


def test_framing_detection_is_exact() -> None:
    assert fixed_frames(fixed(b"ab", b"")) == [b"ab", b""]
    assert fixed_frames(fixed(b"ab")[:-1]) is None  # short last frame
    assert fixed_frames(PROTOS[0]) is None  # a plain request is not length-prefixed
    assert varint_frames(delimited(*PROTOS)) == PROTOS
    assert varint_frames(delimited(b"\xff")) is None  # frames must walk as requests
    assert is_request(PROTOS[0]) and not is_request(fixed(PROTOS[0]))
