"""The registry refuses ambiguous selection and unknown meta, naming both plugins."""

from __future__ import annotations

import sys
import types

import pytest

from otlp2parquet import hookimpl
from otlp2parquet.errors import PluginError
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.plugin.registry import Component, Registry


def plugin_module(name: str, **hooks: object) -> str:
    module = types.ModuleType(name)
    for hook, func in hooks.items():
        setattr(module, hook, func)
    sys.modules[name] = module
    return name


def test_second_decoder_for_a_media_type_is_refused_naming_both_plugins() -> None:
    @hookimpl
    def register_decoders(register):
        register(
            name="fastjson", factory=dict, media_types=("application/x-ndjson", "Application/JSON")
        )

    module = plugin_module("my_fastjson_plugin", register_decoders=register_decoders)
    with pytest.raises(PluginError) as info:
        collect_registry(build_plugin_manager(autoload=False, modules=[module]))
    assert str(info.value) == (
        "media type 'application/json' is claimed by two decoders: 'fastjson' of plugin "
        "'my_fastjson_plugin' and 'json' of plugin 'decode_json'; disable one of them with "
        "[plugins] disable = [...]"
    )


def test_second_mapper_for_a_signal_is_refused_naming_both_plugins() -> None:
    @hookimpl
    def register_schema_mappers(register):
        register(name="my_logs", factory=dict, signal="logs", tables=["logs"])

    module = plugin_module("my_logs_plugin", register_schema_mappers=register_schema_mappers)
    with pytest.raises(PluginError) as info:
        collect_registry(build_plugin_manager(autoload=False, modules=[module]))
    assert str(info.value) == (
        "signal 'logs' is claimed by two schema mappers: 'my_logs' of plugin 'my_logs_plugin' "
        "and 'logs' of plugin 'map_logs'; disable one of them with [plugins] disable = [...]"
    )


def test_replacing_a_builtin_mapper_works_once_the_builtin_is_disabled() -> None:
    @hookimpl
    def register_schema_mappers(register):
        register(name="my_traces", factory=dict, signal="traces", tables=["traces"])

    module = plugin_module("my_traces_plugin", register_schema_mappers=register_schema_mappers)
    pm = build_plugin_manager(autoload=False, modules=[module], disable=["map_traces"])
    registry = collect_registry(pm)
    assert [(c.name, c.plugin) for c in registry.all("schema_mapper")] == [
        ("logs", "map_logs"),
        ("metrics", "map_metrics"),
        ("my_traces", "my_traces_plugin"),
    ]


def test_distinct_media_types_and_signals_are_accepted() -> None:
    registry = Registry()
    registry.add(Component("decoder", "a", dict, "p1", meta={"media_types": ("text/a",)}))
    registry.add(Component("decoder", "b", dict, "p2", meta={"media_types": ("text/b",)}))
    registry.add(Component("schema_mapper", "x", dict, "p1", meta={"signal": "logs", "tables": []}))
    registry.add(
        Component("schema_mapper", "y", dict, "p2", meta={"signal": "traces", "tables": []})
    )
    assert registry.names("decoder") == ["a", "b"]
    assert registry.names("schema_mapper") == ["x", "y"]


def test_unknown_meta_key_is_refused_naming_key_component_plugin_and_accepted_keys() -> None:
    @hookimpl
    def register_decoders(register):
        register(name="yaml", factory=dict, media_type="application/yaml")

    module = plugin_module("my_yaml_plugin", register_decoders=register_decoders)
    with pytest.raises(PluginError) as info:
        collect_registry(build_plugin_manager(autoload=False, modules=[module]))
    assert str(info.value) == (
        "decoder 'yaml' of plugin 'my_yaml_plugin' has unknown meta key 'media_type'; "
        "a decoder accepts: media_types, section"
    )


def test_every_builtin_meta_key_is_accepted() -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    used = {
        (kind, key) for kind, comps in _by_kind(registry).items() for c in comps for key in c.meta
    }
    assert {
        ("decoder", "media_types"),
        ("schema_mapper", "signal"),
        ("schema_mapper", "tables"),
        ("catalog", "section"),
        ("platform", "detect_env"),
        ("platform", "defaults"),
        ("platform", "section"),
    } <= used


def _by_kind(registry: Registry) -> dict[str, list[Component]]:
    from otlp2parquet.plugin.registry import KINDS

    return {kind: registry.all(kind) for kind in KINDS}


def test_a_meta_value_of_the_wrong_shape_is_refused() -> None:
    """A single string would be read as a list of one-letter media types."""
    registry = Registry()
    with pytest.raises(PluginError) as info:
        registry.add(Component("decoder", "y", dict, "p", meta={"media_types": "text/y"}))
    assert str(info.value) == (
        "decoder 'y' of plugin 'p': meta 'media_types' must be a list of strings, not 'text/y'"
    )


def test_a_mapper_without_a_signal_is_refused() -> None:
    registry = Registry()
    with pytest.raises(PluginError) as info:
        registry.add(Component("schema_mapper", "m", dict, "p", meta={"tables": ["logs"]}))
    assert str(info.value) == (
        "schema mapper 'm' of plugin 'p' does not declare meta 'signal'; a schema mapper must"
    )
