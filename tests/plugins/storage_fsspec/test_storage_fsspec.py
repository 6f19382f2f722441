"""fsspec storage backends: local disk, memory://, S3 and R2-style settings against a real S3 API
(moto's server), errors and missing extras."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet.errors import ConfigError, MissingExtra, StorageError
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.plugins.storage_fsspec import (
    FsspecStorage,
    check_key,
    make_azure,
    make_fs,
    make_gcs,
    make_memory,
    make_r2,
    make_s3,
)
from support.s3 import S3_KEY, S3_REGION, S3_SECRET, create_bucket, free_port

KEY = "logs/svc/year=2024/month=05/day=06/hour=07/1-0123456789abcdef0123456789abcdef.parquet"


def exercise(storage: FsspecStorage) -> None:
    """put/get/list/delete/check on any backend."""
    storage.check()
    other = KEY.replace("logs/", "traces/")
    storage.put(KEY, b"one")
    storage.put(other, b"two")
    storage.put(KEY, b"three")  # overwrite is whole
    assert storage.get(KEY) == b"three"
    assert storage.list() == [KEY, other]
    assert storage.list("logs/") == [KEY]
    assert storage.list("logs/svc/year=2024/mon") == [KEY]
    assert storage.list("metrics/") == []
    storage.delete(other)
    assert storage.list() == [KEY]
    with pytest.raises(StorageError, match="not found"):
        storage.get(other)


def test_registered_by_register_storage_backends_hook_with_aliases() -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    for alias, name in [("file", "fs"), ("filesystem", "fs"), ("aws", "s3")]:
        assert registry.get("storage_backend", alias).name == name
    assert {"fs", "memory", "s3", "r2", "gcs", "azure"} <= set(registry.names("storage_backend"))
    assert registry.get("storage_backend", "r2").section == "storage.r2"


def test_local_disk(tmp_path: Path) -> None:
    storage = make_fs({"path": str(tmp_path / "data")})
    assert storage.root == str(tmp_path / "data")
    exercise(storage)
    assert (tmp_path / "data" / KEY).read_bytes() == b"three"
    assert storage.url(KEY) == f"file://{tmp_path}/data/{KEY}"
    assert not [p for p in (tmp_path / "data").rglob("*") if p.name.endswith(".tmp")]


def test_local_default_path_is_data_under_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert make_fs({}).root == str(tmp_path / "data")


def test_local_write_failure_leaves_no_partial_file(tmp_path: Path) -> None:
    storage = make_fs({"path": str(tmp_path)})
    (tmp_path / "logs").write_text("a file where a directory must go")
    with pytest.raises(StorageError, match=r"fs storage \(directory .*\) cannot write"):
        storage.put(KEY, b"data")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["logs"]


def test_memory() -> None:
    storage = make_memory({"path": f"/t-{uuid.uuid4().hex}"})
    exercise(storage)
    assert storage.url(KEY).startswith("memory:///t-")
    assert storage.fs.cat_file(f"{storage.root}/{KEY}") == b"three"


@pytest.mark.parametrize("key", ["", "/abs", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\x00"])
def test_keys_that_could_escape_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="refusing storage key"):
        check_key(key)
    storage = make_memory({"path": "/refuse"})
    with pytest.raises(ValueError):
        storage.put(key, b"x")


def test_s3_with_prefix(s3_options: dict[str, Any]) -> None:
    storage = make_s3({**s3_options, "prefix": "/otel//lake/"})
    assert storage.root == f"{s3_options['bucket']}/otel/lake"
    exercise(storage)
    assert storage.url(KEY) == f"s3://{s3_options['bucket']}/otel/lake/{KEY}"
    objects = storage.fs.find(s3_options["bucket"])
    assert objects == [f"{s3_options['bucket']}/otel/lake/{KEY}"]


def test_s3_credentials_from_the_aws_chain(s3_options: dict[str, Any], monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", S3_REGION)
    options = {k: v for k, v in s3_options.items() if k in ("bucket", "endpoint")}
    storage = make_s3(options)
    storage.put(KEY, b"chain")
    assert storage.get(KEY) == b"chain"


def test_s3_multipart_upload_is_completed_whole(s3_options: dict[str, Any]) -> None:
    storage = make_s3(s3_options)
    big = bytes(range(256)) * (400 * 1024)  # 100 MiB: the smallest s3fs uploads in parts
    storage.put(KEY, big)
    assert storage.get(KEY) == big


def test_r2_settings_derive_the_endpoint_and_region() -> None:
    storage = make_r2({"bucket": "lake", "account_id": "0123abcd", "prefix": "otel"})
    assert storage.fs.endpoint_url == "https://0123abcd.r2.cloudflarestorage.com"
    assert storage.fs.client_kwargs == {"region_name": "auto"}
    assert storage.root == "lake/otel"
    assert storage.url(KEY) == f"s3://lake/otel/{KEY}"


def test_r2_style_settings_against_an_s3_api(s3_options: dict[str, Any]) -> None:
    options = {k: s3_options[k] for k in ("bucket", "endpoint", "access_key_id")}
    options["secret_access_key"] = s3_options["secret_access_key"]
    storage = make_r2({**options, "account_id": "ignored-when-endpoint-is-set", "prefix": "r2"})
    exercise(storage)


def test_missing_settings_name_the_key_and_variable() -> None:
    with pytest.raises(ConfigError, match=r"storage\.s3\.bucket .*OTLP2PARQUET_STORAGE_S3_BUCKET"):
        make_s3({})
    with pytest.raises(ConfigError, match=r"storage\.r2\.account_id"):
        make_r2({"bucket": "x"})
    with pytest.raises(ConfigError, match="prefix"):
        make_s3({"bucket": "x", "prefix": "a/../b"})


def test_unreachable_s3_is_a_storage_error_naming_bucket_and_endpoint(monkeypatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries take seconds
    endpoint = f"http://127.0.0.1:{free_port()}"
    options = {
        "bucket": "nowhere",
        "endpoint": endpoint,
        "region": S3_REGION,
        "access_key_id": S3_KEY,
        "secret_access_key": S3_SECRET,
    }
    with pytest.raises(StorageError) as info:
        make_s3(options).put(KEY, b"x")
    message = str(info.value)
    assert "bucket 'nowhere'" in message and endpoint in message and "cannot write" in message


def test_missing_bucket_fails_check(s3_server: str) -> None:
    options = {
        "bucket": f"absent-{uuid.uuid4().hex[:8]}",
        "endpoint": s3_server,
        "access_key_id": S3_KEY,
        "secret_access_key": S3_SECRET,
    }
    with pytest.raises(StorageError, match="absent-"):
        make_s3(options).check()
    create_bucket(s3_server, options["bucket"])
    make_s3(options).check()


def test_gcs_and_azure_endpoints_are_checked() -> None:
    """Emulator endpoints are tested in test_storage_emulators.py; here, refused settings."""
    pytest.importorskip("gcsfs", reason="the endpoint checks need the 'gcs' extra (gcsfs)")
    pytest.importorskip("adlfs", reason="the endpoint checks need the 'azure' extra (adlfs)")
    with pytest.raises(ConfigError, match=r"storage\.gcs\.endpoint .* http\(s\)://host:port"):
        make_gcs({"bucket": "b", "endpoint": "http://127.0.0.1:9023/storage/v1"})
    with pytest.raises(ConfigError, match="must not carry a query string") as info:
        make_azure({"container": "c", "account_name": "a", "endpoint": "https://h/?sig=secret"})
    assert "secret" not in str(info.value)
    with pytest.raises(ConfigError, match="needs account_key, sas_token or connection_string"):
        make_azure({"container": "c", "account_name": "a", "endpoint": "http://127.0.0.1:1/a"})
    storage = make_gcs({"bucket": "b", "endpoint": "http://127.0.0.1:9023/", "token": "anon"})
    assert storage.where == "bucket 'b' at endpoint http://127.0.0.1:9023"
    assert type(storage.fs).__module__ == "gcsfs.core"  # no Storage Control gRPC probe
    storage = make_azure({"container": "c", "account_name": "acct", "account_key": "a2V5"})
    assert storage.where == "container 'c' of account acct"


@pytest.mark.parametrize(
    ("backend", "module", "extra", "options"),
    [
        ("gcs", "gcsfs", "gcs", {"bucket": "b"}),
        ("azure", "adlfs", "azure", {"container": "c", "account_name": "a"}),
        ("s3", "s3fs", "s3", {"bucket": "b"}),
        ("r2", "s3fs", "s3", {"bucket": "b", "account_id": "x"}),
    ],
)
def test_missing_optional_package_names_the_extra(
    backend: str, module: str, extra: str, options: dict[str, str], monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if the package were not installed
    factory = (
        collect_registry(build_plugin_manager(autoload=False))
        .get("storage_backend", backend)
        .factory
    )
    with pytest.raises(MissingExtra) as info:
        factory(options)
    assert f"pip install 'otlp2parquet[{extra}]'" in str(info.value)
    assert f"'{module}'" in str(info.value) and backend in str(info.value)
