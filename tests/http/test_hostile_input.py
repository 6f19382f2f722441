"""Hostile input against a real server: each gets its 4xx and a clear message, never a 500,
memory stays bounded, and other clients keep being served meanwhile."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator

import pytest
from google.rpc import status_pb2

from support.otlp_server import ServerProcess, rows
from support.spool_support import PROTOBUF, logs_body
from support.wire_support import varint

LIMIT = 1024 * 1024
CONFIG = f"""
[request]
max_payload_bytes = {LIMIT}
[server]
channel_timeout_secs = 2
[batch]
max_age_secs = 0.2
"""
PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("hostile"), CONFIG) as proc:
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log()


def rss(server: ServerProcess) -> int:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def post(
    server: ServerProcess, body: bytes, ctype: str = PROTOBUF, encoding: str | None = None
) -> tuple[int, str]:
    headers = {"Content-Type": ctype, **({"Content-Encoding": encoding} if encoding else {})}
    status, _, data = server.request("POST", "/v1/logs", body, headers)
    if status == 200:
        return status, ""
    if ctype == PROTOBUF:
        return status, status_pb2.Status.FromString(data).message
    return status, json.loads(data)["message"]


def nested_log(depth: int) -> bytes:
    """A logs request whose record body is an AnyValue array nested ``depth`` levels."""
    value = b"\x0a\x01x"  # AnyValue{string_value: "x"}
    for _ in range(depth):  # AnyValue{array_value: ArrayValue{values: [value]}}
        array = b"\x0a" + varint(len(value)) + value
        value = b"\x2a" + varint(len(array)) + array
    record = b"\x09" + (1_714_978_800_000_000_000).to_bytes(8, "little")  # time_unix_nano
    record += b"\x2a" + varint(len(value)) + value  # LogRecord.body
    scope_logs = b"\x12" + varint(len(record)) + record
    resource_logs = b"\x12" + varint(len(scope_logs)) + scope_logs
    return b"\x0a" + varint(len(resource_logs)) + resource_logs


def bomb(inflated: int) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [deflater.compress(chunk) for _ in range(inflated >> 20)]
    return b"".join([*parts, deflater.flush()])


@pytest.mark.parametrize(
    ("body", "ctype", "encoding", "status", "says"),
    [
        (b"\x0a\xff\xff\xff\x0f", PROTOBUF, None, 400, "invalid protobuf"),
        (gzip.compress(logs_body([1]))[:-12], PROTOBUF, "gzip", 400, "truncated"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"\xff" * 40, PROTOBUF, "gzip", 400, "not valid gzip"),
        (b"not deflate", PROTOBUF, "deflate", 400, "not valid deflate"),
        (nested_log(200), PROTOBUF, None, 400, "nested deeper than 100"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", None, 400, "nested too deeply"),
        (
            b'{"resourceLogs": [{"resource": {"attributes": [{"key": "\xff"}]}}]}',
            "application/json",
            None,
            400,
            "UTF-8",
        ),
        (logs_body([1]).replace(b"rec-1", b"rec\xff1"), PROTOBUF, None, 400, "UTF-8"),
        (logs_body([1]), "text/plain", None, 415, "unsupported Content-Type"),
        (logs_body([1]), PROTOBUF, "br", 415, "unsupported Content-Encoding"),
        (b"\x00" * (LIMIT + 1), PROTOBUF, None, 413, "max_payload_bytes"),
    ],
)
def test_bad_bodies_get_their_4xx_and_message(
    server: ServerProcess, body: bytes, ctype: str, encoding: str | None, status: int, says: str
) -> None:
    got, message = post(server, body, ctype, encoding)
    assert (got, says in message) == (status, True), message


def test_gzip_bomb_stops_at_the_limit_with_bounded_memory(server: ServerProcess) -> None:
    body = bomb(256 << 20)  # 256 MiB of zeros in about 250 KiB
    before = rss(server)
    started = time.monotonic()
    status, message = post(server, body, encoding="gzip")
    assert status == 413 and "after decompression" in message
    assert time.monotonic() - started < 5
    assert rss(server) - before < 64 << 20


def test_deep_but_allowed_nesting_and_huge_attribute_counts_are_stored(
    server: ServerProcess,
) -> None:
    assert post(server, nested_log(40))[0] == 200
    attrs = [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(20_000)]
    service = {"key": "service.name", "value": {"stringValue": "wide"}}
    record = {"timeUnixNano": "1714978800000000000", "attributes": attrs}
    request = {
        "resourceLogs": [
            {"resource": {"attributes": [service]}, "scopeLogs": [{"logRecords": [record]}]}
        ]
    }
    started = time.monotonic()
    assert post(server, json.dumps(request).encode(), "application/json")[0] == 200
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 10
    while not [r for r in rows(server.data, "logs") if r["ServiceName"] == "wide"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_oversized_headers_are_refused(server: ServerProcess) -> None:
    status, headers, body = server.request(
        "POST", "/v1/logs", logs_body([1]), {"Content-Type": PROTOBUF, "X-Big": "a" * 300_000}
    )
    # the headers were not read, so the answer cannot follow the request's Content-Type
    assert status == 431 and headers["content-type"] == "application/json"
    assert "too large" in json.loads(body)["message"].lower()


def test_stalled_clients_are_timed_out_and_others_are_served(server: ServerProcess) -> None:
    stalled = []
    for partial in (b"POST /v1/logs HTTP/1.1\r\nHost: x\r\n", b""):  # headers half sent; none
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(partial + b"Content-Length: 100\r\n\r\n0123" if partial else b"")
        stalled.append(sock)
    results: list[int] = []
    workers = [
        threading.Thread(target=lambda i=i: results.append(post(server, logs_body([i]))[0]))
        for i in range(20)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert results == [200] * 20 and time.monotonic() - started < 5
    for sock in stalled:  # closed by the server after channel_timeout_secs (2 s)
        sock.settimeout(10)
        with sock, contextlib.suppress(ConnectionResetError):  # a reset is a close too
            while sock.recv(65536):  # whatever it says first, then the end of the stream
                pass
    assert server.request("GET", "/health")[0] == 200


def test_nothing_above_was_a_500(server: ServerProcess) -> None:
    """Runs last in this module: the server logged no internal error for any of it."""
    log = server.log()
    assert "-> 500" not in log and "unexpected error" not in log, log[-3000:]
    assert post(server, logs_body([7]))[0] == 200
