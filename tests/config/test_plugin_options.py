"""Each built-in registers the options schema of its own section; the core schema keeps only core
sections, and variables are resolved once every plugin has declared its keys."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet import hookimpl
from otlp2parquet.assembly import bootstrap
from otlp2parquet.config.layers import load_config_schema
from otlp2parquet.errors import ConfigError, PluginError

NOWHERE = Path("/nonexistent")


def test_core_schema_declares_no_backend_or_catalog_section() -> None:
    schema = load_config_schema()["properties"]
    assert sorted(schema["storage"]["properties"]) == [
        "backend",
        "compression",
        "compression_level",
        "parquet_row_group_size",
    ]
    assert "iceberg" not in schema


@pytest.mark.parametrize(
    ("plugin", "name", "key", "value"),
    [
        ("storage_fsspec", "OTLP2PARQUET_S3_BUCKET", "storage.s3.bucket", "b"),
        ("storage_fsspec", "OTLP2PARQUET_STORAGE_PATH", "storage.fs.path", "/lake"),
        ("catalog_iceberg", "OTLP2PARQUET_ICEBERG_NAMESPACE", "iceberg.namespace", "n"),
        (
            "platform_cloudflare",
            "OTLP2PARQUET_STORAGE_R2_BINDING_BINDING",
            "storage.r2_binding.binding",
            "B",
        ),
    ],
)
def test_a_builtins_keys_are_declared_by_its_plugin(
    plugin: str, name: str, key: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = bootstrap(env={name: value}, cwd=NOWHERE).config
    assert config.get(key) == value
    assert config.origin(key) == f"environment variable {name}"
    blocked = {name: value, "OTLP2PARQUET_PLUGINS_DISABLE": plugin}
    with caplog.at_level(logging.WARNING):
        config = bootstrap(env=blocked, cwd=NOWHERE).config
    assert config.get(key) is None
    assert f"unknown environment variable(s) {name}: no such configuration key" in caplog.text


def test_a_blocked_plugins_file_keys_are_unknown(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[plugins]\ndisable = ["catalog_iceberg"]\n[iceberg]\nwarehouse = "w"\n')
    runtime = bootstrap(str(path), env={}, cwd=tmp_path)
    assert runtime.warnings == [f"unknown key 'iceberg.warehouse' in {path} key iceberg.warehouse"]
    path.write_text('[iceberg]\nwarehouse = "w"\n')
    runtime = bootstrap(str(path), env={}, cwd=tmp_path)
    assert runtime.warnings == [] and runtime.config.get("iceberg.warehouse") == "w"


def test_a_plugin_keys_bad_variable_names_the_variable() -> None:
    env = {"OTLP2PARQUET_ICEBERG_SYNC_INTERVAL_SECS": "soon"}
    with pytest.raises(ConfigError, match=r"OTLP2PARQUET_ICEBERG_SYNC_INTERVAL_SECS='soon'"):
        bootstrap(env=env, cwd=NOWHERE)
    env = {"OTLP2PARQUET_ICEBERG_SYNC_INTERVAL_SECS": "0"}
    with pytest.raises(ConfigError, match=r"'iceberg\.sync_interval_secs' from environment"):
        bootstrap(env=env, cwd=NOWHERE)


def _plugin_module(name: str, section: str, options: dict[str, Any]) -> str:
    """A plugin module registering a partitioner whose options live at ``section``."""

    @hookimpl
    def register_partitioners(register: Any) -> None:
        register(name=name, factory=dict, options=options, section=section)

    module = types.ModuleType(f"plugin_{name}")
    module.register_partitioners = register_partitioners  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module.__name__


@pytest.fixture
def cleanup_modules() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        sys.modules.pop(name, None)


OPTIONS = {"type": "object", "properties": {"size": {"type": "integer", "default": 3}}}


def test_a_third_party_section_takes_its_variables(cleanup_modules: list[str]) -> None:
    module = _plugin_module("daily", "partitioning.daily", OPTIONS)
    cleanup_modules.append(module)
    env = {"OTLP2PARQUET_PLUGINS_MODULES": module, "OTLP2PARQUET_PARTITIONING_DAILY_SIZE": "9"}
    config = bootstrap(env=env, cwd=NOWHERE).config
    assert config.get("partitioning.daily.size") == 9
    assert (
        bootstrap(env={"OTLP2PARQUET_PLUGINS_MODULES": module}, cwd=NOWHERE).config.get(
            "partitioning.daily.size"
        )
        == 3
    )
    assert config.origin("partitioning.daily.size").endswith("OTLP2PARQUET_PARTITIONING_DAILY_SIZE")


@pytest.mark.parametrize(
    ("section", "taken"),
    [("batch", "batch"), ("storage", "storage"), ("storage.compression.x", "storage.compression")],
)
def test_a_fragment_for_a_core_key_is_refused(
    section: str, taken: str, cleanup_modules: list[str]
) -> None:
    module = _plugin_module("greedy", section, OPTIONS)
    cleanup_modules.append(module)
    with pytest.raises(PluginError) as info:
        bootstrap(env={"OTLP2PARQUET_PLUGINS_MODULES": module}, cwd=NOWHERE)
    assert str(info.value) == (
        f"plugin {module!r} declares options for '{section}', but '{taken}' is declared by "
        "the core schema; a plugin may only declare a section of its own"
    )


def test_a_fragment_for_another_plugins_section_names_both(cleanup_modules: list[str]) -> None:
    module = _plugin_module("icy", "iceberg", OPTIONS)
    cleanup_modules.append(module)
    with pytest.raises(PluginError) as info:
        bootstrap(env={"OTLP2PARQUET_PLUGINS_MODULES": module}, cwd=NOWHERE)
    message = str(info.value)
    first, second = sorted(["catalog_iceberg", module], key=message.find)
    assert message.startswith(f"plugin {first!r} declares options for 'iceberg'")
    assert f"'iceberg' is declared by plugin {second!r}" in message
