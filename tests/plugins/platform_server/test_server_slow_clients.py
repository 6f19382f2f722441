"""Slowloris: 1,000 connections trickling one byte every 2 s neither starve a normal exporter
nor stay open past ``server.header_timeout_secs`` / ``server.body_timeout_secs``."""

from __future__ import annotations

import json
import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.otlp_server import ServerProcess, example

HEADER_TIMEOUT = 3
BODY_TIMEOUT = 4
CONFIG = f"""
[server]
header_timeout_secs = {HEADER_TIMEOUT}
body_timeout_secs = {BODY_TIMEOUT}
channel_timeout_secs = 60
"""
HEADERS = b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
BODY_HEAD = HEADERS + b"Content-Length: 1000\r\n\r\n{"


@pytest.fixture(scope="module", autouse=True)
def enough_fds() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))


class Tricklers:
    """``count`` connections, each sending ``first`` then one more byte of ``rest`` every 2 s."""

    def __init__(self, port: int, count: int, first: bytes, rest: bytes) -> None:
        self.socks = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(first)
            sock.setblocking(False)
            self.socks.append(sock)
        self.rest = rest
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        for byte in self.rest:
            if self.stop.wait(2.0):
                return
            for sock in self.socks:
                try:
                    sock.send(bytes([byte]))
                except OSError:  # closed by the server: that is the point
                    continue

    def answers(self, timeout: float) -> list[bytes | None]:
        """What each connection received before the server closed it (None: still open)."""
        got: dict[int, bytearray] = {i: bytearray() for i in range(len(self.socks))}
        open_ = {sock.fileno(): i for i, sock in enumerate(self.socks)}
        poller = select.poll()
        for fd in open_:
            poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while open_ and time.monotonic() < deadline:
            for fd, _ in poller.poll(200):
                index = open_[fd]
                try:
                    chunk = self.socks[index].recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    got[index] += chunk
                else:
                    poller.unregister(fd)
                    del open_[fd]
        still = set(open_.values())
        return [None if i in still else bytes(got[i]) for i in range(len(self.socks))]

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.socks:
            sock.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path, CONFIG) as server:
        yield server


def _post_logs(server: ServerProcess) -> tuple[int, float]:
    started = time.monotonic()
    status = server.request(
        "POST", "/v1/logs", example("logs.json"), {"Content-Type": "application/json"}
    )[0]
    return status, time.monotonic() - started


def test_a_thousand_header_tricklers_do_not_starve_an_exporter_and_get_408(
    server: ServerProcess,
) -> None:
    tricklers = Tricklers(server.port, 1000, HEADERS[:1], HEADERS[1:])
    try:
        opened = time.monotonic()
        time.sleep(0.5)
        status, seconds = _post_logs(server)
        assert status == 200 and seconds < 1.0, (status, seconds)
        answers = tricklers.answers(timeout=HEADER_TIMEOUT + 4)
        closed_after = time.monotonic() - opened
    finally:
        tricklers.close()
    assert answers.count(None) == 0, f"{answers.count(None)} tricklers still open"
    timed_out = [a for a in answers if a is not None and a.startswith(b"HTTP/1.")]
    assert len(timed_out) == 1000
    assert all(b" 408 Request Timeout\r\n" in a.split(b"\r\n")[0] + b"\r\n" for a in timed_out)
    body = json.loads(timed_out[0].split(b"\r\n\r\n", 1)[1])
    assert "server.header_timeout_secs" in body["message"]
    assert closed_after > HEADER_TIMEOUT - 0.5
    assert _post_logs(server)[0] == 200


def test_a_body_trickler_gets_408_after_the_body_deadline(server: ServerProcess) -> None:
    tricklers = Tricklers(server.port, 20, BODY_HEAD, b'"resourceLogs": []}' * 10)
    try:
        opened = time.monotonic()
        early = tricklers.answers(timeout=HEADER_TIMEOUT + 0.2)  # past the header deadline
        assert early == [None] * 20  # the headers arrived in time: only the body deadline runs
        answers = tricklers.answers(timeout=BODY_TIMEOUT + 3)
        closed_after = time.monotonic() - opened
    finally:
        tricklers.close()
    assert all(a is not None and a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[:2]
    assert b"server.body_timeout_secs" in (answers[0] or b"")
    assert BODY_TIMEOUT - 0.5 < closed_after < BODY_TIMEOUT + 3
