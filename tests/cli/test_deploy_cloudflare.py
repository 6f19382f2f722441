"""``otlp2parquet deploy cloudflare``: the rendered wrangler.toml and Worker project, its template
engine, and the generated entry file driving the adapter."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet.cli.deploy import DEPLOY_DIR, render
from otlp2parquet.cli.main import main
from otlp2parquet.errors import ConfigError
from support.cloudflare_support import make_env, parquet_keys, pb_logs, request

pytestmark = pytest.mark.usefixtures("fresh_worker")


def deploy(tmp_path: Path, *flags: str) -> dict[str, Any]:
    out = tmp_path / "worker"
    assert main(["deploy", "cloudflare", "--out", str(out), *flags]) == 0
    assert (out / "src" / "entry.py").read_text() == (
        DEPLOY_DIR / "cloudflare" / "src" / "entry.py"
    ).read_text()
    project = tomllib.loads((out / "pyproject.toml").read_text())
    dependencies = project["project"]["dependencies"]
    assert dependencies[:2] == ["pluggy>=1.5", "protobuf>=6.31"]  # the Worker's requirements
    assert not any(d.startswith(("pyarrow", "numpy", "otlp2parquet")) for d in dependencies)
    assert (out / "src" / "otlp2parquet" / "engine" / "lite" / "parquet_writer.py").is_file()
    return tomllib.loads((out / "wrangler.toml").read_text())


def test_otlp2parquet_is_copied_into_the_worker(tmp_path: Path) -> None:
    out = tmp_path / "worker"
    stale = out / "src" / "otlp2parquet" / "stale.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("")
    assert main(["deploy", "cloudflare", "--out", str(out)]) == 0
    src = out / "src" / "otlp2parquet"
    assert not stale.exists()  # an earlier copy is replaced
    for name in ("__init__.py", "plugins/platform_cloudflare/handlers.py", "schemas/logs.toml"):
        assert (src / name).is_file(), name
    assert (src / "schemas" / "config.schema.json").is_file()
    assert not list(src.rglob("__pycache__"))


def test_plain_worker_has_no_batching_or_catalog_blocks(tmp_path: Path) -> None:
    config = deploy(tmp_path, "--name", "otel-in", "--bucket", "lake")
    assert config["name"] == "otel-in" and config["main"] == "src/entry.py"
    assert "python_workers" in config["compatibility_flags"]
    assert config["r2_buckets"] == [{"binding": "OTLP_BUCKET", "bucket_name": "lake"}]
    assert config["vars"]["OTLP2PARQUET_BATCH_ENABLED"] == "false"
    assert config["vars"]["CF_WORKER"] == "1"
    for table in ("durable_objects", "migrations", "services", "kv_namespaces", "triggers"):
        assert table not in config
    assert "OTLP2PARQUET_BASIC_AUTH_ENABLED" not in config["vars"]


def test_batching_and_catalog_blocks(tmp_path: Path) -> None:
    config = deploy(
        tmp_path,
        "--batching",
        "--max-rows",
        "5000",
        "--catalog",
        "--kv-namespace-id",
        "0f2ac74b498b48028cb68387c421e279",
        "--catalog-uri",
        "https://catalog.cloudflarestorage.com/0123abcd/otlp2parquet",
        "--warehouse",
        "0123abcd_otlp2parquet",
        "--basic-auth-user",
        "otel",
    )
    assert config["durable_objects"]["bindings"] == [
        {"name": "OTLP_BATCHER", "class_name": "OtlpBatcher"}
    ]
    assert config["migrations"] == [{"tag": "v1", "new_sqlite_classes": ["OtlpBatcher"]}]
    assert config["services"] == [{"binding": "SELF", "service": "otlp2parquet"}]
    assert config["kv_namespaces"][0]["binding"] == "PENDING_FILES"
    assert config["triggers"]["crons"] == ["*/5 * * * *"]
    variables = config["vars"]
    assert variables["OTLP2PARQUET_BATCH_MAX_ROWS"] == "5000"
    assert variables["OTLP2PARQUET_CATALOG_MODE"] == "iceberg"
    assert variables["OTLP2PARQUET_ICEBERG_REST_URI"].endswith("/0123abcd/otlp2parquet")
    assert variables["OTLP2PARQUET_ICEBERG_WAREHOUSE"] == "0123abcd_otlp2parquet"
    assert "OTLP2PARQUET_ICEBERG_TOKEN" not in variables  # a secret too
    assert variables["OTLP2PARQUET_BASIC_AUTH_USERNAME"] == "otel"
    assert "OTLP2PARQUET_BASIC_AUTH_PASSWORD" not in variables  # a secret, never in the file


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--catalog"], "kv-namespace-id"),
        (["--catalog", "--kv-namespace-id", "x"], "--catalog-uri and --warehouse"),
        (["--name", "Not Valid"], "--name"),
        (["--max-rows", "0"], "max-rows"),
        (["--templates", "/nonexistent"], "templates not found"),
    ],
)
def test_refused_flags_exit_2(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "cloudflare", "--out", str(tmp_path), *flags]) == 2
    assert message in capsys.readouterr().err


def test_template_engine() -> None:
    text = "a={{A}}\n{{#ON}}on {{A}}\n{{/ON}}{{^ON}}off\n{{/ON}}{{#OFF}}x{{#ON}}y{{/ON}}{{/OFF}}end"
    assert render(text, {"A": "1"}, {"ON": True, "OFF": False}) == "a=1\non 1\nend"
    assert render(text, {"A": "1"}, {"ON": False, "OFF": True}) == "a=1\noff\nxend"
    with pytest.raises(ConfigError, match="'B' has no value"):
        render("{{B}}", {}, {})
    with pytest.raises(ConfigError, match="block 'X' is unknown"):
        render("{{#X}}{{/X}}", {}, {})


def load_entry() -> types.ModuleType:
    """deploy/cloudflare/src/entry.py with a minimal stand-in of the Workers SDK's base classes
    (the ``workers`` module exists only inside Pyodide)."""
    sdk = types.ModuleType("workers")

    class WorkerEntrypoint:
        def __init__(self, ctx: Any, env: Any) -> None:
            self.ctx, self.env = ctx, env

    class DurableObject:
        def __init__(self, ctx: Any, env: Any) -> None:
            self.ctx, self.env = ctx, env

    sdk.WorkerEntrypoint, sdk.DurableObject = WorkerEntrypoint, DurableObject  # type: ignore[attr-defined]
    sys.modules["workers"] = sdk
    try:
        path = DEPLOY_DIR / "cloudflare" / "src" / "entry.py"
        spec = importlib.util.spec_from_file_location("cf_entry", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        del sys.modules["workers"]


def test_entry_file_wires_the_adapter() -> None:
    entry = load_entry()
    env = make_env(batching=True)
    env.OTLP_BATCHER.factory = entry.OtlpBatcher  # the real entry class as the Durable Object
    default = entry.Default(None, env)
    response = asyncio.run(default.fetch(request("/v1/logs", pb_logs())))
    assert response.status == 200 and parquet_keys(env) == []
    asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    assert len(parquet_keys(env)) == 1
    asyncio.run(default.scheduled(None))
    assert asyncio.run(default.record_receipts("[]")) == 0
