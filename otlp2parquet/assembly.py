"""Bootstrap: config layers → plugins → registry → platform (``detect_env``) → platform
defaults → plugins' option schemas → environment variables → adapters' overrides → validation →
``configure`` → a frozen configuration."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from otlp2parquet.config.layers import Config, Layer, set_path
from otlp2parquet.config.load import load_config, resolve_environment
from otlp2parquet.durability.none import NO_DURABILITY
from otlp2parquet.errors import ConfigError, PluginError
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry, has_entry_points
from otlp2parquet.plugin.platforms import detect_platform
from otlp2parquet.plugin.registry import KINDS, Registry
from otlp2parquet.plugin.urls import storage_overrides
from otlp2parquet.telemetry.metrics import Telemetry

if TYPE_CHECKING:
    from otlp2parquet.pipeline.core import Pipeline
    from otlp2parquet.types import Durability

#: An override computed from the loaded configuration (``--host`` replaces half of
#: ``server.listen_addr``): it returns a layer, or None, and is validated with all the others.
Adjust = Callable[[Config], Layer | None]


@dataclass
class Runtime:
    """Everything loaded for one process: validated config, plugins and their components, and
    the self-telemetry that every part built from it counts into."""

    config: Config
    pm: pluggy.PluginManager
    registry: Registry
    platform: str
    warnings: list[str] = field(default_factory=list)
    telemetry: Telemetry = field(default_factory=Telemetry)
    _pipeline: Pipeline | None = None

    def __post_init__(self) -> None:
        self.telemetry.observe_files(self.pm)

    def derive(self, layer: Layer) -> Runtime:
        """This runtime with ``layer`` over its configuration (validated anew, frozen), for an
        adapter that specialises a runtime it was handed (a forked server worker's own spool).
        Plugins are not configured again, and the new runtime builds its own pipeline."""
        return replace(self, config=self.config.derive(layer), _pipeline=None)

    def pipeline(self, durable: bool = False) -> Pipeline:
        """The runtime's pipeline, over the pyarrow engine (the Cloudflare platform builds its
        own with ``new_pipeline``, see ``parquet.engine``). ``durable``: the first call opens
        the spool ``durability.*`` configures, hands it to the pipeline and replays what it held
        (the server does this before starting); a pipeline built without it stays without."""
        if self.config.get("parquet.engine") == "lite":
            raise ConfigError(
                f'parquet.engine = "lite" is for the cloudflare platform; the {self.platform} '
                'platform writes Parquet with pyarrow: set parquet.engine = "auto" or "pyarrow"'
            )
        if self._pipeline is None:
            if durable:
                from otlp2parquet.durability.setup import open_durability, replay_into

                durability, scans = open_durability(self.config)
                built = self.new_pipeline("pyarrow", durability)
                replay_into(built, scans)
            else:
                built = self.new_pipeline("pyarrow")
            self._pipeline = built
        return self._pipeline

    def new_pipeline(
        self, engine: str = "pyarrow", durability: Durability = NO_DURABILITY
    ) -> Pipeline:
        """A pipeline of its own (not kept) over the table engine ``engine`` (``pyarrow`` or
        ``lite``, as ``engine.choose_engine`` resolves ``parquet.engine``)."""
        from otlp2parquet.engine import make_engine
        from otlp2parquet.pipeline.core import Pipeline

        table_engine = make_engine(engine, self.config)
        return Pipeline(
            self.config, self.registry, self.pm, self.telemetry, durability, table_engine
        )


def bootstrap(
    config_path: str | None = None,
    cli: Mapping[str, tuple[Any, str]] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    adjust: Sequence[Adjust] = (),
    output: str | None = None,
    telemetry: Telemetry | None = None,
) -> Runtime:
    """Load config and plugins; raises ConfigError or PluginError with one-line messages.
    ``output`` (``--output``) selects the storage backend registering the URL's scheme;
    ``adjust`` computes overrides from the loaded configuration. Their layers are validated
    with the rest, before ``configure``, after which the configuration is frozen. The runtime
    owns ``telemetry`` (a new, disabled one by default)."""
    env = os.environ if env is None else env
    config = load_config(config_path, cli, env, cwd)
    modules = config.get("plugins.modules") or ()
    disable = config.get("plugins.disable") or ()
    # Built-ins and configured modules first: they say which platform runs here, and a
    # platform registered with cold_start=True keeps third-party autoload off by default.
    pm = build_plugin_manager(autoload=False, modules=modules, disable=disable)
    registry = collect_registry(pm)
    try:
        platform: str | None = _platform(config, registry, env)
    except PluginError:  # perhaps an entry-point plugin brings the fallback platform
        platform = None
    autoload = bool(config.get("plugins.autoload"))
    if _cold_start(registry, platform) and not config.explicit("plugins.autoload"):
        autoload = False
    if autoload and has_entry_points():
        pm = build_plugin_manager(autoload=True, modules=modules, disable=disable)
        registry = collect_registry(pm)
    if platform is None or autoload:
        platform = _platform(config, registry, env)
    if output:
        config.add_layer(_output_layer(registry, output))
    component = (
        registry.get("platform", platform) if platform in registry.names("platform") else None
    )
    if component is not None and component.meta.get("defaults"):
        config.add_layer(
            Layer("platform", dict(component.meta["defaults"]), f"platform defaults ({platform})")
        )
    for kind in KINDS:
        for comp in registry.all(kind):
            if comp.options:
                config.extend_schema(comp.section, comp.options, comp.plugin)
    resolve_environment(config)  # the variables that map to the keys plugins just declared
    for compute in adjust:
        layer = compute(config)
        if layer is not None:
            config.add_layer(layer)
    warnings = config.validate()
    pm.hook.configure.call_historic(kwargs={"config": config})
    config.freeze()
    return Runtime(config, pm, registry, platform, warnings, telemetry or Telemetry())


def _output_layer(registry: Registry, output: str) -> Layer:
    """``--output`` as a command-line layer, added before validation like every override."""
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path, value in storage_overrides(registry, output).items():
        set_path(data, path, value)
        origins[path] = "command-line flag --output"
    return Layer("cli", data, "command line", origins)


def _platform(config: Config, registry: Registry, env: Mapping[str, str]) -> str:
    """``platform`` from config, else the one the platforms' ``detect_env`` meta selects."""
    return str(config.get("platform") or detect_platform(registry, env))


def _cold_start(registry: Registry, platform: str | None) -> bool:
    """True for a platform registered with ``cold_start=True`` (every import counts there)."""
    if platform is None or platform not in registry.names("platform"):
        return False
    return bool(registry.get("platform", platform).meta.get("cold_start"))
