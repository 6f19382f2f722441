"""Soak (``make soak``; not in CI): mixed load on a real server for a while, with faults.

Everything runs on 127.0.0.1: moto's S3 server behind a cuttable proxy, ``otlp2parquet serve``
as a subprocess with its spool, and client threads sending numbered protobuf logs (some gzip),
JSON traces and hostile bodies. A seeded schedule injects faults: storage outages, SIGKILL and
restart of the server, stalled client connections, connections trickling their headers one
byte every 2 s (slowloris: the server must close each). At the end every acknowledged record
must be in the bucket exactly once and no trickler left open; the report gives records sent,
acknowledged and written, responses by status, and the server's RSS over time.

    python tests/soak/soak.py --minutes 10 [--clients 4] [--seed 1] [--out report.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import json
import logging
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.otlp_server import ServerProcess
from support.outage_support import config, landed
from support.s3 import create_bucket, free_port
from support.spool_support import PROTOBUF, logs_body
from support.tcp_proxy import TcpProxy
from support.wire_support import degenerate_bodies

log = logging.getLogger("soak")
PAGE = os.sysconf("SC_PAGE_SIZE")
HOSTILE = [
    (b"\x0a\xff\xff\xff\x0f", PROTOBUF, None),
    (gzip.compress(b"\x00" * (64 << 20)), PROTOBUF, "gzip"),  # inflates past the limit
    (b"{" * 10_000, "application/json", None),
    (b"not a trace", "application/json", None),
    # decode amplification: 4 MiB of degenerate records in a few KB of gzip
    *((gzip.compress(body), PROTOBUF, "gzip") for body in degenerate_bodies(4 << 20).values()),
]


def traces_body(ids: range) -> bytes:
    spans = [
        {"traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": f"span-{i}",
         "startTimeUnixNano": str(1_714_978_800_000_000_000 + i), "endTimeUnixNano": "1"}
        for i in ids
    ]  # fmt: skip
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "soak"}}]}
    request = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}
    return json.dumps(request).encode()


class Load:
    """Client threads and their counts; ids are unique across threads."""

    def __init__(self, port_of: Any, clients: int, seed: int) -> None:
        self.port_of = port_of
        self.clients = clients
        self.seed = seed
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.next_id = 0
        self.sent = Counter[str]()
        self.acked: dict[str, set[str]] = {"logs": set(), "traces": set()}
        self.statuses = Counter[int]()

    def ids(self, count: int) -> range:
        with self.lock:
            start, self.next_id = self.next_id, self.next_id + count
        return range(start, start + count)

    def client(self, index: int) -> None:
        rnd = random.Random(self.seed * 1000 + index)
        while not self.stop.is_set():
            kind = rnd.choices(["logs", "traces", "hostile"], [6, 3, 1])[0]
            ids = self.ids(rnd.randint(10, 200))
            if kind == "logs":
                body, ctype, encoding = logs_body(ids, f"svc-{index % 3}"), PROTOBUF, None
                if rnd.random() < 0.3:
                    body, encoding = gzip.compress(body), "gzip"
                names = [f"rec-{i}" for i in ids]
            elif kind == "traces":
                body, ctype, encoding = traces_body(ids), "application/json", None
                names = [f"span-{i}" for i in ids]
            else:
                body, ctype, encoding = rnd.choice(HOSTILE)
                names = []
            status = self.post(kind if kind != "hostile" else "logs", body, ctype, encoding)
            with self.lock:
                self.statuses[status] += 1
                if names:
                    self.sent[kind] += len(names)
                    if status == 200:
                        self.acked[kind].update(names)
            if status in (0, 429, 503):
                time.sleep(0.2)

    def post(self, signal_name: str, body: bytes, ctype: str, encoding: str | None) -> int:
        headers = {"Content-Type": ctype, **({"Content-Encoding": encoding} if encoding else {})}
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port_of(), timeout=30)
            conn.request("POST", f"/v1/{signal_name}", body=body, headers=headers)
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            return 0  # the server is down (killed and restarting): not acknowledged


def trickle(port: int, count: int, seconds: float = 20.0) -> tuple[int, int]:
    """Slowloris: ``count`` connections send a request's headers one byte every 2 s. The server
    must answer 408 and close each within server.header_timeout_secs (10 s by default); returns
    (opened, still open after ``seconds``)."""
    socks: list[socket.socket] = []
    for _ in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"P")
        except OSError:
            break
        sock.setblocking(False)
        socks.append(sock)
    rest = b"OST /v1/logs HTTP/1.1\r\nHost: soak\r\nX-Slow: " + b"s" * 64
    open_ = set(range(len(socks)))
    deadline = time.monotonic() + seconds
    for byte in rest:
        if not open_ or time.monotonic() > deadline:
            break
        time.sleep(2)
        for index in list(open_):
            try:
                if socks[index].recv(4096) == b"":
                    open_.discard(index)
                    continue
            except BlockingIOError:
                pass
            except OSError:
                open_.discard(index)
                continue
            with contextlib.suppress(OSError):
                socks[index].send(bytes([byte]))
    for sock in socks:
        sock.close()
    return len(socks), len(open_)


def rss(server: ServerProcess) -> int:
    try:
        with open(f"/proc/{server.proc.pid}/statm") as statm:  # type: ignore[union-attr]
            return int(statm.read().split()[1]) * PAGE
    except OSError:
        return 0


def run(minutes: float, clients: int, seed: int) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    rnd = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="otlp2parquet-soak-"))
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    proxy = TcpProxy(port)
    bucket = create_bucket(proxy.url)
    text = config(proxy.url, bucket, tmp / "spool").replace("max_spool_bytes = 65536", "")
    env = {"AWS_MAX_ATTEMPTS": "1"}
    server = ServerProcess(tmp, text, env, ("--output", f"s3://{bucket}")).start()
    load = Load(lambda: server.port, clients, seed)
    threads = [threading.Thread(target=load.client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    end = started + minutes * 60
    samples: list[tuple[float, int]] = []
    faults: list[tuple[float, str]] = []
    next_fault = started + rnd.uniform(20, 40)
    stalled: list[socket.socket] = []
    tricklers = {"opened": 0, "left_open": 0}
    while time.monotonic() < end:
        time.sleep(5)
        samples.append((round(time.monotonic() - started), rss(server)))
        if time.monotonic() < next_fault:
            continue
        fault = rnd.choice(["outage", "kill", "stall", "trickle"])
        faults.append((round(time.monotonic() - started), fault))
        log.info("fault: %s", fault)
        if fault == "outage":
            moto.stop()
            proxy.cut()
            time.sleep(rnd.uniform(5, 20))
            moto.start()
            proxy.restore()
        elif fault == "kill":
            server.stop(signal.SIGKILL)
            server.start()
        elif fault == "trickle":
            opened, left_open = trickle(server.port, 300)
            tricklers["opened"] += opened
            tricklers["left_open"] += left_open
        else:
            for _ in range(20):
                sock = socket.create_connection(("127.0.0.1", server.port))
                sock.sendall(b"POST /v1/logs HTTP/1.1\r\nContent-Length: 10\r\n")
                stalled.append(sock)
        next_fault = time.monotonic() + rnd.uniform(30, 60)
    load.stop.set()
    for thread in threads:
        thread.join(60)
    for sock in stalled:
        sock.close()
    status = server.stop()
    logs = landed(proxy.url, bucket, "logs/")
    # the degenerate hostile bodies that are valid OTLP land as records without a body
    written = Counter({body: n for body, n in logs.items() if body})
    spans = landed(proxy.url, bucket, "traces/", "SpanName")
    proxy.cut()
    moto.stop()
    acked = {k: len(v) for k, v in load.acked.items()}
    lost = {
        "logs": len(load.acked["logs"] - set(written)),
        "traces": len(load.acked["traces"] - set(spans)),
    }
    duplicated = sum(n > 1 for n in written.values()) + sum(n > 1 for n in spans.values())
    return {
        "minutes": minutes, "clients": clients, "seed": seed, "exit_status": status,
        "records_sent": dict(load.sent), "records_acknowledged": acked,
        "records_written": {"logs": sum(written.values()), "traces": sum(spans.values())},
        "hostile_records_written": logs[""] + logs[None],
        "acknowledged_lost": lost, "records_duplicated": duplicated,
        "duplicated_examples": [k for k, n in [*written.items(), *spans.items()] if n > 1][:5],
        "responses": {str(k): v for k, v in sorted(load.statuses.items())},
        "faults": faults, "slow_clients": tricklers, "rss_bytes": samples, "work_dir": str(tmp),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="write the JSON report here too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    report = run(args.minutes, args.clients, args.seed)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    ok = not any(report["acknowledged_lost"].values()) and not report["records_duplicated"]
    ok = ok and report["exit_status"] == 0 and not report["slow_clients"]["left_open"]
    if ok:
        shutil.rmtree(report["work_dir"], ignore_errors=True)
    print("soak:", "passed" if ok else "FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
