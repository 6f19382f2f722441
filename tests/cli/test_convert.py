"""``otlp2parquet convert``: captured OTLP files of every encoding through the real pipeline, bad
files reported one by one, and the detection of gzip, encoding and signal."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp2parquet.cli.capture import detect_encoding, detect_signal, unwrap
from otlp2parquet.errors import DecodeError
from support.s3 import S3_KEY, S3_REGION, S3_SECRET

#: 2024-05-06T07:00:00Z in nanoseconds.
T_NS = 1_714_978_800_000_000_000
SECOND = 1_000_000_000
LAYOUT = re.compile(
    r"[a-z_/]+/[^/]+/year=2024/month=05/day=06/hour=0[67]/\d+-[0-9a-f]{32}\.parquet"
)


def resource(service: str) -> dict[str, Any]:
    return {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}


def logs(*records: tuple[str, int, str]) -> dict[str, Any]:
    """One ResourceLogs per record: (service, time ns, body)."""
    return {
        "resourceLogs": [
            {
                "resource": resource(service),
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": str(when),
                                "severityNumber": 9,
                                "body": {"stringValue": body},
                            }
                        ]
                    }
                ],
            }
            for service, when, body in records
        ]
    }


def traces(service: str, start: int) -> dict[str, Any]:
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "GET /",
        "kind": 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + SECOND),
    }
    return {"resourceSpans": [{"resource": resource(service), "scopeSpans": [{"spans": [span]}]}]}


def gauge(service: str, when: int, value: float) -> dict[str, Any]:
    metric = {
        "name": "queue.depth",
        "gauge": {"dataPoints": [{"timeUnixNano": str(when), "asDouble": value}]},
    }
    return {
        "resourceMetrics": [
            {"resource": resource(service), "scopeMetrics": [{"metrics": [metric]}]}
        ]
    }


def protobuf(message: dict[str, Any], kind: type) -> bytes:
    return json_format.ParseDict(message, kind()).SerializeToString()


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTLP2PARQUET_", "AWS_"))}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "otlp2parquet", "convert", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full,
        timeout=120,
    )


@pytest.fixture
def captures(tmp_path: Path) -> Path:
    """Four good captures (protobuf, JSON, JSON Lines, gzip without a telling name) and two
    bad ones."""
    folder = tmp_path / "captures"
    (folder / "nested").mkdir(parents=True)
    records = [
        ("api", T_NS - SECOND, "a0"),
        ("api", T_NS + SECOND, "a1"),
        ("web", T_NS + 2 * SECOND, "w0"),
        ("web", T_NS + 3 * SECOND, "w1"),
    ]
    (folder / "logs.pb").write_bytes(protobuf(logs(*records), ExportLogsServiceRequest))
    (folder / "spans.json").write_text(json.dumps(traces("api", T_NS + 5 * SECOND), indent=2))
    lines = [gauge("api", T_NS + i * SECOND, float(i)) for i in range(2)]
    (folder / "nested" / "metrics.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n\n")
    payload = protobuf(logs(("gz", T_NS, "zipped")), ExportLogsServiceRequest)
    (folder / "nested" / "capture.dat").write_bytes(gzip.compress(payload))
    (folder / "bad.json").write_text('{"resourceLogs": [')
    (folder / "broken.pb").write_bytes(b"\x0a\x02\xff\xff")  # a request, no telling records
    (folder / ".hidden.json").write_text("ignored")
    return folder


def test_convert_good_and_bad_files_to_local_disk(tmp_path: Path, captures: Path) -> None:
    out = tmp_path / "lake"
    result = run(str(captures), "--output", str(out), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("otlp2parquet: error")]
    assert len(errors) == 2
    assert any("bad.json:" in line for line in errors)
    assert any("broken.pb:" in line and "--signal" in line for line in errors)
    assert "converted 4 of 6 input file(s): 8 record(s) written" in result.stdout
    assert "logs: 5 row(s) in 4 file(s)" in result.stdout
    assert "traces: 1 row(s) in 1 file(s)" in result.stdout
    assert "metrics_gauge: 2 row(s) in 1 file(s)" in result.stdout  # two requests, one file
    assert "\r" not in result.stderr  # no progress bar without a terminal
    keys = sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))
    assert len(keys) == 6 and all(LAYOUT.fullmatch(k) for k in keys)
    assert {k.split("/year=")[0] for k in keys} == {
        "logs/api",
        "logs/web",
        "logs/gz",
        "traces/api",
        "metrics/gauge/api",
    }
    got = duckdb.sql(
        f"SELECT ServiceName, Body, hour FROM read_parquet('{out}/logs/**/*.parquet', "
        "hive_partitioning=true) ORDER BY Body"
    ).fetchall()
    assert [(s, b, int(h)) for s, b, h in got] == [
        ("api", "a0", 6),
        ("api", "a1", 7),
        ("web", "w0", 7),
        ("web", "w1", 7),
        ("gz", "zipped", 7),
    ]


def test_convert_with_signal_and_format_flags_exits_zero(tmp_path: Path) -> None:
    capture = tmp_path / "unnamed"
    capture.write_bytes(protobuf(traces("svc", T_NS), ExportTraceServiceRequest))
    out = tmp_path / "lake"
    result = run(
        str(capture), "-o", str(out), "--signal", "traces", "--format", "protobuf", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "converted 1 of 1 input file(s): 1 record(s) written" in result.stdout
    assert len(list((out / "traces" / "svc").rglob("*.parquet"))) == 1


def test_missing_input_is_reported_and_the_rest_converted(tmp_path: Path) -> None:
    good = tmp_path / "metrics.pb"
    good.write_bytes(protobuf(gauge("svc", T_NS, 1.5), ExportMetricsServiceRequest))
    result = run(
        str(tmp_path / "absent.json"), str(good), "-o", str(tmp_path / "lake"), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "absent.json: no such file or directory" in result.stderr
    assert "metrics_gauge: 1 row(s) in 1 file(s)" in result.stdout


def test_convert_to_s3(tmp_path: Path, s3_server: str, make_bucket) -> None:
    bucket = make_bucket()
    capture = tmp_path / "logs.json.gz"
    capture.write_bytes(gzip.compress(json.dumps(logs(("api", T_NS, "hello"))).encode()))
    env = {
        "OTLP2PARQUET_S3_ENDPOINT": s3_server,
        "OTLP2PARQUET_S3_REGION": S3_REGION,
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
    }
    result = run(str(capture), "--output", f"s3://{bucket}/otel", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )
    [obj] = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert obj["Key"].startswith("otel/logs/api/year=2024/month=05/day=06/hour=07/")


# -- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind", "signal"),
    [
        (logs(("a", T_NS, "x")), ExportLogsServiceRequest, "logs"),
        (traces("a", T_NS), ExportTraceServiceRequest, "traces"),
        (gauge("a", T_NS, 1.0), ExportMetricsServiceRequest, "metrics"),
    ],
)
def test_signal_detected_from_every_encoding(message: dict, kind: type, signal: str) -> None:
    data = protobuf(message, kind)
    assert detect_encoding("capture", data) == "protobuf"
    assert detect_signal("capture", data, "protobuf") == signal
    text = json.dumps(message, indent=2).encode()
    assert detect_encoding("capture", text) == "json"
    assert detect_signal("capture", text, "json") == signal
    lines = json.dumps(message).encode() + b"\n" + json.dumps(message).encode()
    assert detect_encoding("capture", lines) == "jsonl"
    assert detect_signal("capture", lines, "jsonl") == signal


def test_snake_case_json_and_name_hints() -> None:
    assert detect_signal("x", b'{"resource_spans": []}', "json") == "traces"
    assert detect_signal("my-metrics.pb", b"", "protobuf") == "metrics"
    assert detect_signal("logs-and-traces.pb", b"", "protobuf") is None
    assert detect_signal("x.pb", b"\xff\xff", "protobuf") is None


def test_encoding_from_extension_even_when_gzipped() -> None:
    assert detect_encoding("a.JSONL.gz", b"") == "jsonl"
    assert detect_encoding("a.ndjson", b"") == "jsonl"
    assert detect_encoding("a.binpb", b"{") == "protobuf"


def test_gzip_detected_by_magic_bytes() -> None:
    assert unwrap(gzip.compress(b"a") + gzip.compress(b"b")) == b"ab"
    assert unwrap(b"plain") == b"plain"
    with pytest.raises(DecodeError, match="gzip"):
        unwrap(b"\x1f\x8b\x08broken", "x.gz")


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    capture = tmp_path / "logs.json"
    capture.write_text(json.dumps(logs(("api", T_NS, "x"))))
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    with os.fdopen(controller, "rb", buffering=0) as reader:
        process = subprocess.Popen(
            [sys.executable, "-m", "otlp2parquet", "convert", str(capture), "-o", "lake"],
            stdout=subprocess.PIPE, stderr=terminal, cwd=tmp_path, env=env,
        )  # fmt: skip
        os.close(terminal)
        stdout, _ = process.communicate(timeout=120)
        shown = b""
        while True:
            try:
                chunk = reader.read(4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
    assert process.returncode == 0
    assert b"convert: 100%" in shown and b"records=1" in shown
    assert b"converted 1 of 1" in stdout
