"""Where configuration values come from: the config file and ``OTLP2PARQUET_*`` variables."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from otlp2parquet.config.layers import (
    ENV_PREFIX,
    FILE_VARIABLES,
    KeyInfo,
    Layer,
    describe_allowed,
    flatten,
    iter_leaves,
    set_path,
)
from otlp2parquet.errors import ConfigError


def parse_env_value(raw: str, schema: Mapping[str, Any], name: str) -> Any:
    """Convert a variable's text to the declared type."""
    types = schema.get("type", "string")
    types = types if isinstance(types, list) else [types]
    text = raw.strip()
    if "null" in types and text.lower() in ("", "null", "none"):
        return None
    try:
        if "boolean" in types:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if "integer" in types:
            return int(text.replace("_", ""))
        if "number" in types:
            return float(text)
        if "array" in types:
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        if "object" in types:
            return json.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"environment variable {name}={raw!r} is not a valid {'/'.join(types)}: {exc}; "
            f"allowed: {describe_allowed(schema)}"
        ) from None
    return raw


def env_index(schema: Mapping[str, Any]) -> dict[str, KeyInfo]:
    index: dict[str, KeyInfo] = {}
    for key in iter_leaves(schema):
        for name in key.env_names:
            index.setdefault(name, key)
    return index


def env_layer(env: Mapping[str, str], schema: Mapping[str, Any]) -> tuple[Layer, list[str]]:
    """The environment layer, and the names of unknown ``OTLP2PARQUET_*`` variables."""
    index = env_index(schema)
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    unknown: list[str] = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in FILE_VARIABLES:
            continue
        key = index.get(name)
        if key is None:
            unknown.append(name)
            continue
        set_path(data, key.path, parse_env_value(env[name], key.schema, name))
        origins[key.path] = f"environment variable {name}"
    return Layer("env", data, "environment", origins), unknown


def file_layer(
    cli_path: str | None, env: Mapping[str, str], cwd: Path | None = None
) -> Layer | None:
    """The config file: ``--config``, else ``OTLP2PARQUET_CONFIG``, else inline
    ``OTLP2PARQUET_CONFIG_CONTENT``, else ``./config.toml`` when it exists."""
    if cli_path:
        return _read_toml_file(Path(cli_path), "--config")
    if env.get("OTLP2PARQUET_CONFIG"):
        return _read_toml_file(Path(env["OTLP2PARQUET_CONFIG"]), "OTLP2PARQUET_CONFIG")
    if env.get("OTLP2PARQUET_CONFIG_CONTENT"):
        return _toml_layer(env["OTLP2PARQUET_CONFIG_CONTENT"], "OTLP2PARQUET_CONFIG_CONTENT")
    default = (cwd or Path.cwd()) / "config.toml"
    if default.is_file():
        return _read_toml_file(default, None)
    return None


def _read_toml_file(path: Path, named_by: str | None) -> Layer:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        via = f" (named by {named_by})" if named_by else ""
        raise ConfigError(f"cannot read config file {path}{via}: {exc.strerror}") from None
    return _toml_layer(text, str(path))


def _toml_layer(text: str, origin: str) -> Layer:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {origin} is not valid TOML: {exc}") from None
    origins = {path: f"{origin} key {path}" for path, _ in flatten(data)}
    return Layer("file", data, origin, origins)
