"""Security properties end to end: constant-time credential checks, no secret in any log line or
printed config, object keys that never leave the storage root, spool files private to the
server's user, and a server that refuses to start with auth on and an empty secret."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from otlp2parquet.assembly import Runtime
from otlp2parquet.errors import ConfigError
from otlp2parquet.http import auth
from otlp2parquet.http.auth import Authenticator
from support.otlp_server import ServerProcess
from support.spool_support import PROTOBUF, build, logs_body

TOKEN = "tok-Zq8rV3kLm2Xw"
PASSWORD = "pw-Hn4tY7uJc1Ps"
S3_SECRET = "s3-Qa9bW2eRt5Yu"


def test_credentials_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    checker = Authenticator(basic=(b"otel", PASSWORD.encode()), bearer=TOKEN.encode())
    assert checker.check(f"Bearer {TOKEN}") and not checker.check("Bearer nope")
    assert len(calls) == 2
    calls.clear()
    wrong_user = base64.b64encode(f"mallory:{PASSWORD}".encode()).decode()
    assert not checker.check(f"Basic {wrong_user}")
    assert len(calls) == 2  # the password is compared even when the user name is wrong
    assert checker.check("Basic " + base64.b64encode(f"otel:{PASSWORD}".encode()).decode())


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("auth.basic.password", "OTLP2PARQUET_BASIC_AUTH_PASSWORD"),
        ("auth.bearer.token", "OTLP2PARQUET_AUTH_BEARER_TOKEN"),
    ],
)
def test_auth_enabled_with_an_empty_secret_is_a_config_error(
    make_runtime: Callable[..., Runtime], key: str, variable: str
) -> None:
    scheme = key.rsplit(".", 1)[0]
    settings = {f"{scheme}.enabled": True, "auth.basic.username": "otel"}
    config = make_runtime(**{k.replace(".", "__"): v for k, v in settings.items()}).config
    with pytest.raises(ConfigError, match=variable):
        Authenticator.from_config(config)


def test_no_secret_is_logged_or_printed(tmp_path: Path) -> None:
    env = {
        "OTLP2PARQUET_AUTH_BEARER_ENABLED": "true",
        "OTLP2PARQUET_AUTH_BEARER_TOKEN": TOKEN,
        "OTLP2PARQUET_BASIC_AUTH_ENABLED": "true",
        "OTLP2PARQUET_BASIC_AUTH_USERNAME": "otel",
        "OTLP2PARQUET_BASIC_AUTH_PASSWORD": PASSWORD,
    }
    config = f'[server]\nlog_level = "debug"\n[storage.s3]\nsecret_access_key = "{S3_SECRET}"\n'
    basic = base64.b64encode(f"otel:{PASSWORD}".encode()).decode()
    wrong = base64.b64encode(f"otel:{PASSWORD}x".encode()).decode()
    with ServerProcess(tmp_path, config, env) as server:
        for authorization, status in (
            (f"Bearer {TOKEN}", 200),
            (f"Basic {basic}", 200),
            (f"Bearer {TOKEN}x", 401),
            (f"Basic {wrong}", 401),
        ):
            headers = {"Content-Type": PROTOBUF, "Authorization": authorization}
            assert server.request("POST", "/v1/logs", logs_body([1]), headers)[0] == status
    shown = subprocess.run(
        [sys.executable, "-m", "otlp2parquet", "--config", str(server.config_file), "config",
         "show", "--origin"],
        env={**server.env, **env}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    texts = {"server log": server.log(), "config show": shown.stdout + shown.stderr}
    assert "auth.bearer.token" in texts["config show"]
    for where, text in texts.items():
        for secret in (TOKEN, PASSWORD, S3_SECRET, basic, wrong):
            assert secret not in text, f"a secret is in the {where}"


def test_object_keys_never_leave_the_storage_root(tmp_path: Path) -> None:
    pipeline = build(tmp_path)
    for i, name in enumerate(
        ["../../../../etc/x", "/abs/path", "..\\..\\win", "a/../../b", ".", "..", "\x00n", "~"]
    ):
        pipeline.ingest("logs", logs_body([i], service=name), PROTOBUF)
    pipeline.close()
    lake = (tmp_path / "lake").resolve()
    files = [p.resolve() for p in tmp_path.rglob("*.parquet")]
    assert len(files) == 8 and all(lake in p.parents for p in files)
    assert all(p.relative_to(lake).parts[0] == "logs" for p in files)


def test_spool_files_are_private(tmp_path: Path) -> None:
    pipeline = build(tmp_path)
    pipeline.ingest("logs", logs_body([1]), PROTOBUF)
    assert pipeline.spool is not None
    (segment,) = pipeline.spool.directory.glob("*.seg")
    assert stat.S_IMODE(os.stat(segment).st_mode) & 0o077 == 0
    pipeline.close()
