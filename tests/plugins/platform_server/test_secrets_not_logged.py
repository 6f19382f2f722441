"""A real server at ``log_level = "debug"`` (text and JSON) writing to a real S3 API server
(moto), with bearer and basic auth on: known secret values (storage keys and session token
from the config and from AWS_* variables, the bearer token, the basic-auth password and its
header form) appear in no line the server writes and in no response it gives."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from support.otlp_server import ServerProcess
from support.spool_support import PROTOBUF, logs_body

KEY_ID = "AKIDKNOWNVALUE0001"
SECRET = "known-secret-access-key-0002"
SESSION = "known-session-token-0003"
ENV_SESSION = "known-env-session-token-0004"
TOKEN = "known-bearer-token-0005"
PASSWORD = "known-basic-password-0006"
BASIC = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
SECRETS = (KEY_ID, SECRET, SESSION, ENV_SESSION, TOKEN, PASSWORD, BASIC)


def config(endpoint: str, bucket: str, fmt: str) -> str:
    return f"""
[server]
log_level = "debug"
log_format = "{fmt}"
[batch]
max_age_secs = 0.2
[storage]
backend = "s3"
[storage.s3]
bucket = "{bucket}"
endpoint = "{endpoint}"
region = "us-east-1"
access_key_id = "{KEY_ID}"
secret_access_key = "{SECRET}"
session_token = "{SESSION}"
[auth.bearer]
enabled = true
token = "{TOKEN}"
[auth.basic]
enabled = true
username = "ops"
password = "{PASSWORD}"
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_in_any_line_or_response(
    tmp_path: Path, s3_server: str, make_bucket: object, fmt: str
) -> None:
    bucket = make_bucket()  # type: ignore[operator]
    env = {"AWS_SESSION_TOKEN": ENV_SESSION, "AWS_SECRET_ACCESS_KEY": "x" + SECRET}
    answers: list[bytes] = []
    with ServerProcess(tmp_path, config(s3_server, bucket, fmt), env, output=False) as server:
        for auth in (f"Bearer {TOKEN}", f"Basic {BASIC}", f"Bearer {TOKEN}x", "Basic Zm9vOmJhcg=="):
            headers = {"Content-Type": PROTOBUF, "Authorization": auth}
            status, got, body = server.request("POST", "/v1/logs", logs_body([1]), headers)
            assert status == (200 if not auth.endswith(("x", "==")) else 401)
            answers += [body, repr(got).encode()]
        for path in ("/ready", "/health", "/metrics", "/nowhere"):
            status, got, body = server.request("GET", path)
            answers += [body, repr(got).encode()]
        deadline = time.monotonic() + 10
        while "wrote logs/" not in server.log():
            assert time.monotonic() < deadline, server.log()[-2000:]
            time.sleep(0.1)
    log = server.log()
    assert "botocore" in log  # the library's debug lines were written, and masked
    for secret in SECRETS:
        assert secret not in log, f"{secret} in the log"
        assert not [a for a in answers if secret.encode() in a], f"{secret} in a response"
