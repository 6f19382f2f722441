"""``GET /ready`` against a hung store: probes are bounded and never take the threads ingest
needs, and a 503's details (endpoint, bucket, prefix) reach only authenticated callers."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from google.rpc import status_pb2

from support.hung_endpoint import hung_endpoint
from support.otlp_server import ServerProcess, example
from support.s3 import S3_KEY, S3_REGION, S3_SECRET

BUCKET = "hung-bucket"
PREFIX = "secret-prefix"
TOKEN = "ready-token-123"


@pytest.fixture
def hung_s3() -> Iterator[str]:
    """An endpoint that accepts connections and never answers (a hung store)."""
    with hung_endpoint() as url:
        yield url


def _config(endpoint: str, tmp: Path, extra: str = "") -> str:
    return f"""
[server]
threads = 8
ready_timeout_secs = 3
[batch]
max_age_secs = 3600
[storage]
backend = "s3"
[storage.s3]
bucket = "{BUCKET}"
prefix = "{PREFIX}"
endpoint = "{endpoint}"
region = "{S3_REGION}"
access_key_id = "{S3_KEY}"
secret_access_key = "{S3_SECRET}"
[durability]
spool_dir = "{tmp / "spool"}"
{extra}
"""


def _server(
    tmp: Path, endpoint: str, extra: str = "", env: dict[str, str] | None = None
) -> ServerProcess:
    return ServerProcess(
        tmp, _config(endpoint, tmp, extra), env, ("--output", f"s3://{BUCKET}/{PREFIX}")
    )


def _timed(server: ServerProcess, method: str, path: str, **kw: object) -> tuple[int, float]:
    started = time.monotonic()
    status = server.request(method, path, **kw)[0]  # type: ignore[arg-type]
    return status, time.monotonic() - started


def test_ready_probes_against_a_hung_store_leave_ingest_its_threads(
    tmp_path: Path, hung_s3: str
) -> None:
    server = _server(tmp_path, hung_s3).start()
    try:
        _probe_while_hung(server)
    finally:
        server.stop(signal.SIGKILL)  # a flush to the hung store would wait for botocore


def _probe_while_hung(server: ServerProcess) -> None:
    with ThreadPoolExecutor(16) as pool:
        probes = [pool.submit(server.request, "GET", "/ready") for _ in range(16)]
        time.sleep(0.5)  # every probe is in the server now
        health, health_secs = _timed(server, "GET", "/health")
        body = example("logs.json")
        post, post_secs = _timed(
            server, "POST", "/v1/logs", body=body, headers={"Content-Type": "application/json"}
        )
        assert (health, post) == (200, 200), server.log()
        assert health_secs < 1.0 and post_secs < 1.0, (health_secs, post_secs)
        started = time.monotonic()
        statuses = [p.result(timeout=10)[0] for p in probes]
        assert statuses == [503] * 16
        assert time.monotonic() - started < 4.0  # bounded by server.ready_timeout_secs (3)
        # the hung check is still in flight: later probes answer at once, still 503
        assert _timed(server, "GET", "/ready")[0] == 503
        assert _timed(server, "GET", "/ready")[1] < 0.5


def _message(body: bytes) -> str:
    return str(json.loads(body)["message"])


def test_ready_503_shows_no_endpoint_bucket_or_prefix_to_anonymous_callers(
    tmp_path: Path, hung_s3: str
) -> None:
    refused = f"http://127.0.0.1:{_closed_port()}"  # refuses every connection at once
    env = {"AWS_MAX_ATTEMPTS": "1"}
    with _server(tmp_path, refused, env=env) as server:
        status, headers, body = server.request("GET", "/ready")
    assert status == 503 and "retry-after" in headers
    message = _message(body)
    assert message == "not ready: storage is unreachable; the server log has the details"
    for secret in (BUCKET, PREFIX, "127.0.0.1", refused):
        assert secret not in body.decode()
    assert BUCKET in server.log()  # the details are in the log


def test_ready_503_details_go_to_authenticated_callers(tmp_path: Path) -> None:
    refused = f"http://127.0.0.1:{_closed_port()}"
    extra = "[auth.bearer]\nenabled = true\n"
    env = {"AWS_MAX_ATTEMPTS": "1", "OTLP2PARQUET_AUTH_BEARER_TOKEN": TOKEN}
    with _server(tmp_path, refused, extra, env) as server:
        anonymous = server.request("GET", "/ready")
        wrong = server.request("GET", "/ready", headers={"Authorization": "Bearer nope"})
        authed = server.request("GET", "/ready", headers={"Authorization": f"Bearer {TOKEN}"})
    for status, _, body in (anonymous, wrong):
        assert status == 503 and BUCKET not in body.decode() and PREFIX not in body.decode()
    assert authed[0] == 503
    assert BUCKET in _message(authed[2]) and _message(authed[2]).startswith("not ready: ")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_status_body_decodes_as_rpc_status_in_protobuf(tmp_path: Path, hung_s3: str) -> None:
    """A probe that times out answers a ``google.rpc.Status`` like every other 503."""
    server = _server(tmp_path, hung_s3).start()
    try:
        status, _, body = server.request(
            "GET", "/ready", headers={"Content-Type": "application/x-protobuf"}
        )
    finally:
        server.stop(signal.SIGKILL)
    assert status == 503
    assert status_pb2.Status.FromString(body).message.startswith("not ready")
