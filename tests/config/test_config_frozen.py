"""The configuration is validated once with every layer and frozen after ``configure``:
overrides computed from it go in through ``bootstrap(adjust=...)``; an adapter that specialises
a runtime derives a new, validated one."""

from __future__ import annotations

from pathlib import Path

import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.config.layers import Config, Layer
from otlp2parquet.errors import ConfigError

MEMORY = {"storage.backend": ("memory", "test")}


def doubled_rows(config: Config) -> Layer:
    rows = int(config.get("batch.max_rows")) * 2
    return Layer("cli", {"batch": {"max_rows": rows}}, "command line", {"batch.max_rows": "--x2"})


def test_bootstrap_applies_adjustments_before_validation_then_freezes(tmp_path: Path) -> None:
    runtime = bootstrap(None, MEMORY, env={}, cwd=tmp_path, adjust=[doubled_rows, lambda c: None])
    default = bootstrap(None, MEMORY, env={}, cwd=tmp_path).config.get("batch.max_rows")
    assert runtime.config.get("batch.max_rows") == 2 * default
    assert runtime.config.origin("batch.max_rows") == "--x2"
    assert runtime.config.frozen


def test_an_invalid_adjustment_fails_validation(tmp_path: Path) -> None:
    def negative(config: Config) -> Layer:
        return Layer("cli", {"batch": {"max_rows": -5}}, "command line", {"batch.max_rows": "--n"})

    with pytest.raises(ConfigError, match=r"batch\.max_rows.*--n"):
        bootstrap(None, MEMORY, env={}, cwd=tmp_path, adjust=[negative])


def test_a_frozen_configuration_takes_no_layer_and_no_schema(tmp_path: Path) -> None:
    config = bootstrap(None, MEMORY, env={}, cwd=tmp_path).config
    with pytest.raises(RuntimeError, match="frozen once plugins are configured"):
        config.add_layer(Layer("cli", {"batch": {"max_rows": 1}}, "late"))
    with pytest.raises(RuntimeError, match="cannot extend the schema"):
        config.extend_schema("late_plugin", {"type": "object"})
    assert config.get("batch.max_rows") != 1


def test_derive_validates_a_new_configuration_and_leaves_the_old_one(tmp_path: Path) -> None:
    runtime = bootstrap(None, MEMORY, env={}, cwd=tmp_path)
    before = runtime.config.get("batch.max_age_secs")
    layer = Layer("cli", {"batch": {"max_age_secs": 7}}, "worker 1", {"batch.max_age_secs": "w1"})
    derived = runtime.derive(layer)
    assert derived.config.get("batch.max_age_secs") == 7
    assert derived.config.origin("batch.max_age_secs") == "w1" and derived.config.frozen
    assert runtime.config.get("batch.max_age_secs") == before
    assert derived.pm is runtime.pm and derived.registry is runtime.registry
    with pytest.raises(ConfigError, match=r"batch\.max_age_secs"):
        runtime.derive(Layer("cli", {"batch": {"max_age_secs": "soon"}}, "worker 2"))
