"""A real ``otlp2parquet serve`` process through its life: SIGTERM/SIGINT flush everything
acknowledged and exit 0, backpressure answers 429 and failing storage 503 (both with
Retry-After), readiness follows storage, auth and CORS switches, refusals at start."""

from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2

from support.otlp_server import ServerProcess, example, rows

JSON = "application/json"
BUFFERED = """
[batch]
max_age_secs = 3600
max_rows = 1000000
"""


def send_logs(
    server: ServerProcess, service: str, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    body = example("logs.json").replace(b'"my.service"', json.dumps(service).encode())
    return server.request("POST", "/v1/logs", body, {"Content-Type": JSON, **headers})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_flushes_every_acknowledged_record(tmp_path: Path, signum: int) -> None:
    server = ServerProcess(tmp_path, BUFFERED).start()
    try:
        for i in range(5):
            assert send_logs(server, f"svc-{i % 2}")[0] == 200
        assert rows(server.data, "logs") == []  # still buffered: nothing is old or big enough
    finally:
        code = server.stop(signum)
    assert code == 0, server.log()
    written = rows(server.data, "logs")
    assert sorted(r["ServiceName"] for r in written) == ["svc-0"] * 3 + ["svc-1"] * 2
    assert {r["Body"] for r in written} == {"Example log record"}
    log = server.log()
    assert f"{signal.Signals(signum).name} received" in log and "draining" in log


def test_backpressure_is_429_with_retry_after(tmp_path: Path) -> None:
    config = BUFFERED + "max_buffered_bytes = 1\n"
    with ServerProcess(tmp_path, config) as server:
        assert send_logs(server, "first")[0] == 200
        status, headers, body = send_logs(server, "second")
        assert status == 429
        assert int(headers["retry-after"]) >= 1
        decoded = json_format.Parse(body, status_pb2.Status())
        assert decoded.code == code_pb2.RESOURCE_EXHAUSTED
        assert "batch.max_buffered_bytes" in decoded.message
    assert server.proc is not None and server.proc.returncode == 0
    assert [r["ServiceName"] for r in rows(server.data, "logs")] == ["first"]


def test_failing_storage_is_503_and_not_ready(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, "[batch]\nenabled = false\n") as server:
        assert send_logs(server, "before")[0] == 200
        moved = tmp_path / "moved-away"
        server.data.rename(moved)
        server.data.write_text("a file where the data directory should be")
        status, headers, body = send_logs(server, "during")
        assert status == 503
        assert int(headers["retry-after"]) >= 1
        assert json_format.Parse(body, status_pb2.Status()).code == code_pb2.UNAVAILABLE
        ready, ready_headers, _ = server.request("GET", "/ready")
        assert ready == 503 and "retry-after" in ready_headers
        assert server.request("GET", "/health")[0] == 200
        server.data.unlink()
        shutil.move(moved, server.data)
        deadline = time.monotonic() + 3  # /ready reuses a result for 1 s
        while server.request("GET", "/ready")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.request("GET", "/ready")[0] == 200
        assert send_logs(server, "after")[0] == 200
    services = sorted(str(r["ServiceName"]) for r in rows(server.data, "logs"))
    assert services == ["after", "before"]


def test_bearer_auth_from_the_environment(tmp_path: Path) -> None:
    env = {"OTLP2PARQUET_AUTH_BEARER_ENABLED": "true", "OTLP2PARQUET_AUTH_BEARER_TOKEN": "t0k"}
    with ServerProcess(tmp_path, "", env) as server:
        status, headers, body = send_logs(server, "anon")
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        assert json_format.Parse(body, status_pb2.Status()).code == code_pb2.UNAUTHENTICATED
        assert send_logs(server, "anon", Authorization="Bearer nope")[0] == 401
        assert send_logs(server, "known", Authorization="Bearer t0k")[0] == 200
        assert server.request("GET", "/ready")[0] == 200
    assert "t0k" not in server.log()


def test_basic_auth_and_cors_from_the_config_file(tmp_path: Path) -> None:
    config = """
[server]
cors_allow_origins = ["https://ui.example.com"]
[auth.basic]
enabled = true
username = "otel"
"""
    env = {"OTLP2PARQUET_BASIC_AUTH_PASSWORD": "pa:ss"}
    with ServerProcess(tmp_path, config, env) as server:
        preflight = {
            "Origin": "https://ui.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        }
        status, headers, _ = server.request("OPTIONS", "/v1/logs", None, preflight)
        assert status == 204
        assert headers["access-control-allow-origin"] == "https://ui.example.com"
        assert headers["access-control-allow-headers"] == "content-type,authorization"
        token = base64.b64encode(b"otel:pa:ss").decode()
        status, headers, _ = send_logs(
            server, "browser", Authorization=f"Basic {token}", Origin="https://ui.example.com"
        )
        assert status == 200
        assert headers["access-control-allow-origin"] == "https://ui.example.com"
        assert send_logs(server, "browser", Authorization="Basic b3RlbDp4")[0] == 401


def run_serve(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "otlp2parquet", "serve", "--output", str(tmp_path), *args]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_auth_enabled_with_an_empty_secret_refuses_to_start(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "OTLP2PARQUET_AUTH_BEARER_ENABLED": "true"}
    result = run_serve(tmp_path, "--port", "0", env=env)
    assert result.returncode == 2
    assert "auth.bearer.token" in result.stderr
    assert "OTLP2PARQUET_AUTH_BEARER_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    with ServerProcess(first) as server:
        result = run_serve(tmp_path, "--host", "127.0.0.1", "--port", str(server.port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr
