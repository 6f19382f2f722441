"""Plugin loading, in pytest's order: built-ins, then the ``otlp2parquet`` entry-point group,
then modules named in config, then ``check_pending()`` so a misspelled hook fails loudly."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType

import pluggy

from otlp2parquet import hookspecs
from otlp2parquet.errors import PluginError
from otlp2parquet.plugin.registry import KINDS, Registry

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "otlp2parquet"
BUILTIN_PLUGINS: tuple[str, ...] = (
    "otlp2parquet.plugins.decode_protobuf",
    "otlp2parquet.plugins.decode_json",
    "otlp2parquet.plugins.map_logs",
    "otlp2parquet.plugins.map_traces",
    "otlp2parquet.plugins.map_metrics",
    "otlp2parquet.plugins.partition_hive",
    "otlp2parquet.plugins.storage_fsspec",
    "otlp2parquet.plugins.catalog_none",
    "otlp2parquet.plugins.catalog_iceberg",
    "otlp2parquet.plugins.platform_server",
    "otlp2parquet.plugins.platform_grpc",
    "otlp2parquet.plugins.platform_lambda",
    "otlp2parquet.plugins.platform_cloudflare",
    "otlp2parquet.plugins.telemetry_prometheus",
)


def builtin_name(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def has_entry_points() -> bool:
    """True when some installed package declares a plugin in the ``otlp2parquet`` group."""
    return bool(entry_points(group=ENTRY_POINT_GROUP))


def _import(module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PluginError(f"cannot import {what} {module!r}: {exc}") from None


def build_plugin_manager(
    autoload: bool = True, modules: Iterable[str] = (), disable: Iterable[str] = ()
) -> pluggy.PluginManager:
    """Load and register every plugin that is not disabled."""
    disabled = set(disable)
    pm = pluggy.PluginManager("otlp2parquet")
    pm.add_hookspecs(hookspecs)
    for module in BUILTIN_PLUGINS:
        name = builtin_name(module)
        if name in disabled:
            continue
        try:
            plugin = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:  # a built-in not (yet) shipped in this build
                log.debug("built-in plugin %s is not available", module)
                continue
            raise PluginError(f"cannot import built-in plugin {module!r}: {exc}") from None
        pm.register(plugin, name=name)
    if autoload:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in disabled or pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party package must not hide the cause
                raise PluginError(
                    f"cannot load plugin {ep.name!r} from entry point {ep.value!r}: {exc}"
                ) from None
            pm.register(plugin, name=ep.name)
    for module in modules:
        if module in disabled or builtin_name(module) in disabled:
            continue
        pm.register(_import(module, "plugin module"), name=module)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} is invalid: {exc}") from None
    return pm


def collect_registry(pm: pluggy.PluginManager) -> Registry:
    """Call each ``register_*`` implementation with a ``register`` bound to its plugin name."""
    registry = Registry()
    for kind in KINDS:
        caller = getattr(pm.hook, f"register_{kind}s")
        for impl in reversed(caller.get_hookimpls()):
            impl.function(register=registry.registrar(kind, impl.plugin_name))
    return registry


def plugin_names(pm: pluggy.PluginManager) -> list[str]:
    return [name for name, _ in pm.list_name_plugin()]
