"""A bearer token an Authorization header cannot carry (non-ASCII, spaces) could never match:
``config check`` refuses it and the server does not start, naming the key, never the token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.errors import ConfigError
from tests.support.s3 import free_port

NOWHERE = Path("/nonexistent")
BAD_TOKENS = ["tökén-ünïcode", "two words", "tab\tinside", "emoji-\U0001f511"]


def _env(token: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    env.update(
        {
            "OTLP2PARQUET_AUTH_BEARER_ENABLED": "true",
            "OTLP2PARQUET_AUTH_BEARER_TOKEN": token,
            "OTLP2PARQUET_LISTEN_ADDR": f"127.0.0.1:{free_port()}",
            "OTLP2PARQUET_STORAGE_PATH": str(tmp_path / "lake"),
        }
    )
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otlp2parquet", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,  # a server that started anyway fails the test here
    )


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_bootstrap_refuses_a_token_no_header_can_carry(token: str) -> None:
    env = {"OTLP2PARQUET_AUTH_BEARER_TOKEN": token}
    with pytest.raises(ConfigError) as info:
        bootstrap(env=env, cwd=NOWHERE)
    message = str(info.value)
    assert "'auth.bearer.token' from environment variable OTLP2PARQUET_AUTH_BEARER_TOKEN" in message
    assert "visible ASCII only" in message
    assert token not in message


def test_a_visible_ascii_token_is_accepted() -> None:
    token = "abc-DEF_123.~+/xyz=="
    config = bootstrap(env={"OTLP2PARQUET_AUTH_BEARER_TOKEN": token}, cwd=NOWHERE).config
    assert config.get("auth.bearer.token") == token


def test_config_check_refuses_a_non_ascii_token(tmp_path: Path) -> None:
    token = "tökén-ünïcode"
    result = _cli(["config", "check"], _env(token, tmp_path), tmp_path)
    assert result.returncode == 2
    assert "'auth.bearer.token'" in result.stderr and "visible ASCII only" in result.stderr
    assert token not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_the_server_refuses_to_start_with_a_non_ascii_token(tmp_path: Path) -> None:
    token = "tökén-ünïcode"
    result = _cli(["serve"], _env(token, tmp_path), tmp_path)
    assert result.returncode == 2
    assert "'auth.bearer.token'" in result.stderr and "visible ASCII only" in result.stderr
    assert token not in result.stderr + result.stdout
    assert not (tmp_path / "lake").exists()  # nothing was started
