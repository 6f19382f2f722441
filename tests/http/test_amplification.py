"""Decode amplification against a real server, over HTTP and gRPC: a body that is cheap to send
costs about what a normal body of its size costs, in CPU and in memory, and a request of more
records than ``request.max_records`` is refused (413, INVALID_ARGUMENT) before it is parsed."""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import status_pb2

from support.otlp_server import ServerProcess, free_port
from support.spool_support import PROTOBUF, logs_body
from support.wire_support import degenerate_bodies

LIMIT = 1 << 20
MAX_RECORDS = 50_000
#: docs/server.md "Hostile input": peak RSS above the process at rest, per byte of body.
RSS_MULTIPLE = 100
CONFIG = f"""
[request]
max_payload_bytes = {LIMIT}
max_records = {MAX_RECORDS}
[batch]
max_age_secs = 0.2
"""
TICKS = os.sysconf("SC_CLK_TCK")
NORMAL = logs_body(range(24_000))  # a body of ordinary records, of about the same size


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    grpc_port = free_port()
    tmp = tmp_path_factory.mktemp("amplification")
    with ServerProcess(tmp, CONFIG, args=("--grpc-port", str(grpc_port))) as proc:
        proc.grpc_port = grpc_port  # type: ignore[attr-defined]
        assert LIMIT // 2 < len(NORMAL) < LIMIT
        assert post(proc, NORMAL)[0] == 200  # warmed up
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log()


def post(server: ServerProcess, body: bytes) -> tuple[int, str]:
    status, _, data = server.request("POST", "/v1/logs", body, {"Content-Type": PROTOBUF})
    return status, "" if status == 200 else status_pb2.Status.FromString(data).message


def export(server: ServerProcess, body: bytes) -> tuple[grpc.StatusCode, str]:
    """``body`` as a raw LogsService/Export call."""
    endpoint = f"127.0.0.1:{server.grpc_port}"  # type: ignore[attr-defined]
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            request_serializer=None,
            response_deserializer=None,
        )
        try:
            call(body, timeout=30)
        except grpc.RpcError as exc:
            return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def cpu_secs(server: ServerProcess) -> float:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def peak_rss(server: ServerProcess) -> int:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


BODIES = degenerate_bodies(LIMIT - 64)


@pytest.mark.parametrize("kind", ["unknown field", "wrong wire type", "empty attributes"])
def test_a_degenerate_record_costs_what_a_normal_body_costs(
    server: ServerProcess, kind: str
) -> None:
    body = BODIES[kind]
    before = cpu_secs(server)
    assert post(server, NORMAL)[0] == 200
    normal_cpu = cpu_secs(server) - before
    rested = peak_rss(server)
    before = cpu_secs(server)
    assert post(server, body) == (200, "")
    spent = cpu_secs(server) - before
    # before the fix: one numpy round per field, about 12 s for this 1 MiB record
    assert spent < max(1.5, 10 * normal_cpu), (kind, spent, normal_cpu)
    assert peak_rss(server) - rested < RSS_MULTIPLE * len(body)


def test_more_records_than_max_records_is_a_413_naming_the_cap(server: ServerProcess) -> None:
    body = BODIES["empty records"]  # half a million empty records in 1 MiB
    rested = peak_rss(server)
    status, message = post(server, body)
    assert status == 413
    assert f"more than the limit of {MAX_RECORDS} (request.max_records)" in message
    # refused before the records were parsed: about 130 bytes each in upb, 60 MiB here
    assert peak_rss(server) - rested < 16 * len(body)
    assert post(server, logs_body(range(MAX_RECORDS)[:10]))[0] == 200


def test_over_grpc_a_degenerate_record_is_cheap_and_the_cap_holds(server: ServerProcess) -> None:
    before = cpu_secs(server)
    assert export(server, NORMAL) == (grpc.StatusCode.OK, "")
    normal_cpu = cpu_secs(server) - before
    before = cpu_secs(server)
    assert export(server, BODIES["unknown field"]) == (grpc.StatusCode.OK, "")
    assert cpu_secs(server) - before < max(1.5, 10 * normal_cpu)
    code, message = export(server, BODIES["empty records"])
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "(request.max_records)" in message
