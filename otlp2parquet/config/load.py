"""Reading every configuration layer: declared defaults, the config file, ``OTLP2PARQUET_*``
variables and command-line flags, in that order of precedence."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from otlp2parquet.config.layers import Config, Layer, load_config_schema, schema_defaults, set_path
from otlp2parquet.config.sources import env_layer, file_layer

log = logging.getLogger(__name__)


def load_config(
    config_path: str | None = None,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Read every layer. Plugins may extend the schema afterwards, then ``resolve_environment``
    reads the variables again against every declared key; call ``validate()`` last."""
    env = os.environ if env is None else env
    schema = load_config_schema()
    layers = [Layer("default", schema_defaults(schema), "defaults")]
    file = file_layer(config_path, env, cwd)
    if file is not None:
        layers.append(file)
    environment, unknown = env_layer(env, schema)
    layers.append(environment)
    if cli:
        data: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for path, (value, flag) in cli.items():
            set_path(data, path, value)
            origins[path] = f"command-line flag {flag}"
        layers.append(Layer("cli", data, "command line", origins))
    config = Config(schema, layers, env)
    config.unknown_variables = unknown
    return config


def resolve_environment(config: Config) -> None:
    """Resolve the ``OTLP2PARQUET_*`` variables against the schema as plugins extended it; the
    unknown ones are decided by ``validate``."""
    environment, unknown = env_layer(config.env, config.schema)
    config.set_environment(environment, unknown)
