"""Outage test: a real server writes to moto's S3 server, which is stopped mid-stream and
started again (behind a proxy that drops every connection meanwhile). Requests keep being
accepted into the spool while the store is down, 503 with Retry-After appears only once the
spool is at ``durability.max_spool_bytes``, and when the store is back every acknowledged
record lands exactly once.

moto keeps its state in the test process, so ``stop()`` then ``start()`` on the same
``ThreadedMotoServer`` brings the bucket back with everything it held.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from google.rpc import status_pb2

from support.otlp_server import ServerProcess
from support.outage_support import SPOOL_CAP, config, landed
from support.s3 import create_bucket, free_port
from support.spool_support import PROTOBUF, logs_body
from support.tcp_proxy import TcpProxy

RECORDS = 40  # per request


def refusal(body: bytes) -> str:
    return status_pb2.Status.FromString(body).message


def test_s3_outage_spools_then_503_past_the_cap_then_everything_lands(tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    proxy = TcpProxy(port)  # cutting it drops the server's keep-alive connections too
    bucket = create_bucket(proxy.url)
    spool = tmp_path / "spool"
    env = {"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}
    args = ("--output", f"s3://{bucket}")  # the last --output wins: S3, not ./data
    server = ServerProcess(tmp_path, config(proxy.url, bucket, spool), env, args).start()
    acked: list[int] = []
    next_id = 0

    def send() -> tuple[int, dict[str, str], bytes]:
        nonlocal next_id
        ids = range(next_id, next_id + RECORDS)
        next_id += RECORDS
        status, headers, body = server.request(
            "POST", "/v1/logs", logs_body(ids), {"Content-Type": PROTOBUF}
        )
        if status == 200:
            acked.extend(ids)
        return status, headers, body

    try:
        assert {send()[0] for _ in range(10)} == {200}
        moto.stop()  # the store goes away, and with it every connection to it
        proxy.cut()
        accepted, refusals = 0, []
        deadline = time.monotonic() + 60
        while len(refusals) < 5:
            assert time.monotonic() < deadline, "the spool never filled"
            status, headers, body = send()
            if status == 200:
                assert not refusals, "a 200 between 503s: the cap is not a cap"
                accepted += 1
            else:
                assert status == 503, (status, body)
                message = refusal(body)
                assert "durability.max_spool_bytes" in message, message
                held = int(message.split("holds ")[1].split()[0])
                assert held > SPOOL_CAP - len(logs_body(range(RECORDS))), message
                refusals.append(int(headers["retry-after"]))
            time.sleep(0.02)  # slow enough for flushes to be tried, and fail, meanwhile
        assert accepted >= 5 and min(refusals) >= 1
        assert server.request("GET", "/ready")[0] == 503
        moto.start()  # the same server object: the bucket and its objects are back
        proxy.restore()
        while send()[0] != 200:
            assert time.monotonic() < deadline, "the server never accepted again"
            time.sleep(0.2)
        wanted = {f"rec-{i}" for i in acked}
        while set(landed(proxy.url, bucket)) != wanted:
            assert time.monotonic() < deadline, "acknowledged records did not land"
            time.sleep(0.3)
        assert server.stop() == 0, server.log()
        counts = landed(proxy.url, bucket)
        assert set(counts) == wanted and set(counts.values()) == {1}, "lost or duplicated rows"
        assert "write failed" in server.log()
        assert not list(spool.glob("*.seg"))
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()
        proxy.cut()
        moto.stop()
