"""The platform comes from each platform's ``detect_env`` meta; ``server`` is the fallback."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet import hookimpl
from otlp2parquet.assembly import bootstrap
from otlp2parquet.errors import ConfigError, PluginError
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.plugin.platforms import detect_platform

NOWHERE = Path("/nonexistent")


def platform_plugin(module: str, name: str, **meta: Any) -> str:
    """A plugin module registering one platform ``name`` with ``meta``."""

    @hookimpl
    def register_platforms(register):
        register(name=name, factory=dict, **meta)

    plugin = types.ModuleType(module)
    plugin.register_platforms = register_platforms  # type: ignore[attr-defined]
    sys.modules[module] = plugin
    return module


def start(env: dict[str, str], modules: list[str] = (), disable: list[str] = ()) -> str:
    cli = {"plugins.modules": (list(modules), "--x"), "plugins.disable": (list(disable), "--y")}
    return bootstrap(cli=cli, env=env, cwd=NOWHERE).platform


def test_builtin_platforms_declare_their_variables_and_server_is_the_fallback() -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    meta = {
        c.name: (c.meta.get("detect_env"), c.meta.get("fallback")) for c in registry.all("platform")
    }
    assert meta == {
        "cloudflare": (("CF_WORKER",), None),
        "grpc": (None, None),
        "lambda": (("AWS_LAMBDA_FUNCTION_NAME",), None),
        "server": (None, True),
    }
    assert detect_platform(registry, {}) == "server"
    assert detect_platform(registry, {"CF_WORKER": "1"}) == "cloudflare"


def test_a_disabled_platform_is_no_longer_detected() -> None:
    """Detection reads the registry: without the lambda plugin its variable selects nothing."""
    assert start({"AWS_LAMBDA_FUNCTION_NAME": "f"}) == "lambda"
    assert start({"AWS_LAMBDA_FUNCTION_NAME": "f"}, disable=["platform_lambda"]) == "server"


def test_a_plugin_platform_is_selected_by_its_variable() -> None:
    module = platform_plugin("my_fly_platform", "fly", detect_env=("FLY_APP_NAME", "FLY_ALLOC_ID"))
    assert start({}, [module]) == "server"
    assert start({"FLY_ALLOC_ID": "x"}, [module]) == "fly"
    assert start({"FLY_APP_NAME": "x"}, [module]) == "fly"


def test_a_plugin_platform_may_declare_one_variable_as_a_string() -> None:
    module = platform_plugin("my_render_platform", "render", detect_env="RENDER")
    assert start({"RENDER": "true"}, [module]) == "render"


def test_two_platforms_claiming_the_set_variable_is_an_error_naming_both() -> None:
    module = platform_plugin("my_worker_platform", "my_worker", detect_env=("CF_WORKER",))
    assert start({}, [module]) == "server"  # unset: no conflict
    with pytest.raises(PluginError) as info:
        start({"CF_WORKER": "1"}, [module])
    assert str(info.value) == (
        "environment variable CF_WORKER selects two platforms: 'cloudflare' of plugin "
        "'platform_cloudflare' and 'my_worker' of plugin 'my_worker_platform'; set platform = "
        '"..." or disable one of them with [plugins] disable = [...]'
    )


def test_two_platforms_selected_by_two_variables_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        start({"CF_WORKER": "1", "AWS_LAMBDA_FUNCTION_NAME": "f"})
    assert str(info.value) == (
        "the environment selects more than one platform: AWS_LAMBDA_FUNCTION_NAME (lambda), "
        'CF_WORKER (cloudflare); set platform = "..." (OTLP2PARQUET_PLATFORM) to choose one'
    )
    env = {"CF_WORKER": "1", "AWS_LAMBDA_FUNCTION_NAME": "f", "OTLP2PARQUET_PLATFORM": "lambda"}
    assert start(env) == "lambda"


def test_no_fallback_platform_is_an_error() -> None:
    with pytest.raises(PluginError) as info:
        start({}, disable=["platform_server"])
    assert str(info.value) == (
        "no platform selected: none of AWS_LAMBDA_FUNCTION_NAME, CF_WORKER is set and no "
        'platform registers fallback=True; set platform = "..."'
    )


def test_a_plugin_may_replace_the_fallback() -> None:
    module = platform_plugin("my_home_platform", "home", fallback=True)
    assert start({}, [module], disable=["platform_server"]) == "home"


def test_two_fallback_platforms_are_refused_naming_both() -> None:
    module = platform_plugin("my_other_fallback", "other", fallback=True)
    with pytest.raises(PluginError) as info:
        start({}, [module])
    message = str(info.value)
    assert "'server' of plugin 'platform_server'" in message
    assert "'other' of plugin 'my_other_fallback'" in message
    assert message.endswith(
        "both register fallback=True; disable one of them with [plugins] disable = [...]"
    )
