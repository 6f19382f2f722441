"""Credential variables: the names users of the Rust tool and of this one type are accepted, and
an unknown ``OTLP2PARQUET_*`` variable that looks like a credential is an error, not a warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.config.layers import MASK, get_path
from otlp2parquet.config.variables import looks_like_credential
from otlp2parquet.errors import ConfigError
from tests.support.s3 import S3_KEY, S3_REGION, S3_SECRET, create_bucket

NOWHERE = Path("/nonexistent")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("OTLP2PARQUET_S3_ACCESS_KEY_ID", "storage.s3.access_key_id"),
        ("OTLP2PARQUET_S3_ACCESS_KEY", "storage.s3.access_key_id"),
        ("OTLP2PARQUET_AWS_ACCESS_KEY_ID", "storage.s3.access_key_id"),
        ("OTLP2PARQUET_STORAGE_S3_ACCESS_KEY_ID", "storage.s3.access_key_id"),
        ("OTLP2PARQUET_S3_SECRET_ACCESS_KEY", "storage.s3.secret_access_key"),
        ("OTLP2PARQUET_S3_SECRET_KEY", "storage.s3.secret_access_key"),
        ("OTLP2PARQUET_AWS_SECRET_ACCESS_KEY", "storage.s3.secret_access_key"),
        ("OTLP2PARQUET_S3_SESSION_TOKEN", "storage.s3.session_token"),
        ("OTLP2PARQUET_AWS_SESSION_TOKEN", "storage.s3.session_token"),
        ("OTLP2PARQUET_R2_ACCESS_KEY_ID", "storage.r2.access_key_id"),
        ("OTLP2PARQUET_R2_ACCESS_KEY", "storage.r2.access_key_id"),
        ("OTLP2PARQUET_R2_SECRET_ACCESS_KEY", "storage.r2.secret_access_key"),
        ("OTLP2PARQUET_R2_SECRET_KEY", "storage.r2.secret_access_key"),
        ("OTLP2PARQUET_GCS_TOKEN", "storage.gcs.token"),
        ("OTLP2PARQUET_GCS_CREDENTIALS", "storage.gcs.token"),
        ("OTLP2PARQUET_AZURE_ACCOUNT_NAME", "storage.azure.account_name"),
        ("OTLP2PARQUET_AZURE_ACCOUNT_KEY", "storage.azure.account_key"),
        ("OTLP2PARQUET_AZURE_SAS_TOKEN", "storage.azure.sas_token"),
        ("OTLP2PARQUET_AZURE_CONNECTION_STRING", "storage.azure.connection_string"),
        ("OTLP2PARQUET_ICEBERG_TOKEN", "iceberg.token"),
        ("OTLP2PARQUET_ICEBERG_CREDENTIAL", "iceberg.credential"),
        ("OTLP2PARQUET_AUTH_BEARER_TOKEN", "auth.bearer.token"),
        ("OTLP2PARQUET_BEARER_TOKEN", "auth.bearer.token"),
        ("OTLP2PARQUET_BASIC_AUTH_PASSWORD", "auth.basic.password"),
    ],
)
def test_credential_names_are_accepted(name: str, key: str) -> None:
    runtime = bootstrap(env={name: "value-1"}, cwd=NOWHERE)
    assert runtime.config.get(key) == "value-1"
    assert runtime.config.origin(key) == f"environment variable {name}"
    shown = "value-1" if key == "storage.azure.account_name" else MASK  # a name, not a secret
    assert get_path(runtime.config.masked(), key) == shown


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("OTLP2PARQUET_S3_SECRET", "OTLP2PARQUET_S3_SECRET_KEY"),
        ("OTLP2PARQUET_S3_ACCESS_KEYID", "OTLP2PARQUET_S3_ACCESS_KEY_ID"),
        ("OTLP2PARQUET_S3_TOKEN", "OTLP2PARQUET_S3_SESSION_TOKEN"),
        ("OTLP2PARQUET_AZURE_PASSWORD", "OTLP2PARQUET_AZURE_ACCOUNT_KEY"),
    ],
)
def test_unknown_credential_variable_is_an_error(name: str, suggested: str) -> None:
    with pytest.raises(ConfigError) as info:
        bootstrap(env={name: "hush-hush"}, cwd=NOWHERE)
    message = str(info.value)
    assert message.startswith(f"environment variable {name} looks like a credential")
    assert suggested in message.split("accepted: ")[1].split(", ")
    assert "hush-hush" not in message


def test_unknown_credential_variable_names_the_accepted_ones_of_its_service() -> None:
    with pytest.raises(ConfigError) as info:
        bootstrap(env={"OTLP2PARQUET_S3_SECRET": "x"}, cwd=NOWHERE)
    accepted = str(info.value).split("accepted: ")[1].split(", ")
    assert accepted == [
        "OTLP2PARQUET_S3_ACCESS_KEY",
        "OTLP2PARQUET_S3_ACCESS_KEY_ID",
        "OTLP2PARQUET_S3_SECRET_ACCESS_KEY",
        "OTLP2PARQUET_S3_SECRET_KEY",
        "OTLP2PARQUET_S3_SESSION_TOKEN",
    ]


def test_other_unknown_variables_still_only_warn(caplog: pytest.LogCaptureFixture) -> None:
    assert not looks_like_credential("OTLP2PARQUET_S3_BUCKETS")
    with caplog.at_level(logging.WARNING):
        bootstrap(env={"OTLP2PARQUET_S3_BUCKETS": "b"}, cwd=NOWHERE)
    assert "unknown environment variable(s) OTLP2PARQUET_S3_BUCKETS" in caplog.text


def test_config_check_exits_2_naming_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    env["OTLP2PARQUET_S3_SECRET"] = "hush-hush"
    result = subprocess.run(
        [sys.executable, "-m", "otlp2parquet", "config", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "hush-hush" not in result.stderr
    assert (
        "otlp2parquet: error: environment variable OTLP2PARQUET_S3_SECRET looks like"
        in result.stderr
    )
    assert "OTLP2PARQUET_S3_SECRET_ACCESS_KEY" in result.stderr


def test_s3_writes_with_the_variables_not_the_aws_chain(
    s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variables' keys reach the S3 client; AWS_* variables set to other values are not
    used (moto does not check keys, so the client's own credentials are compared too)."""
    bucket = create_bucket(s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "chain-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "chain-token")
    env = {
        "OTLP2PARQUET_STORAGE_BACKEND": "s3",
        "OTLP2PARQUET_S3_BUCKET": bucket,
        "OTLP2PARQUET_S3_ENDPOINT": s3_server,
        "OTLP2PARQUET_S3_REGION": S3_REGION,
        "OTLP2PARQUET_S3_ACCESS_KEY_ID": S3_KEY,
        "OTLP2PARQUET_S3_SECRET_ACCESS_KEY": S3_SECRET,
        "OTLP2PARQUET_S3_SESSION_TOKEN": "session-1",
    }
    runtime = bootstrap(env=env, cwd=NOWHERE)
    storage = runtime.registry.get("storage_backend", "s3").factory(
        runtime.config.section("storage.s3")
    )
    storage.put("probe/file.bin", b"payload")
    credentials = storage.fs.s3._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        S3_KEY,
        S3_SECRET,
        "session-1",
    )
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )
    assert client.get_object(Bucket=bucket, Key="probe/file.bin")["Body"].read() == b"payload"
