"""Bootstrap: config layers → plugins → registry → platform defaults → validation."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from otlp2parquet.config.layers import Config, Layer, detect_platform
from otlp2parquet.config.load import load_config
from otlp2parquet.errors import ConfigError
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.plugin.registry import KINDS, Registry
from otlp2parquet.telemetry.metrics import Telemetry

if TYPE_CHECKING:
    from otlp2parquet.pipeline.arrow import Pipeline

#: Platforms where every import counts: third-party autoload is off unless config turns it on.
COLD_START_PLATFORMS = frozenset({"lambda", "cloudflare"})


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

    def pipeline(self) -> Pipeline:
        """The pyarrow pipeline (the Cloudflare platform picks the lite one itself, see
        ``parquet.engine``)."""
        if self.config.get("parquet.engine") == "lite":
            raise ConfigError(
                f'parquet.engine = "lite" is for the cloudflare platform; the {self.platform} '
                'platform writes Parquet with pyarrow: set parquet.engine = "auto" or "pyarrow"'
            )
        if self._pipeline is None:
            from otlp2parquet.pipeline.arrow import Pipeline

            self._pipeline = Pipeline(self.config, self.registry, self.pm, self.telemetry)
        return self._pipeline


def bootstrap(
    config_path: str | None = None,
    cli: Mapping[str, tuple[Any, str]] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    telemetry: Telemetry | None = None,
) -> Runtime:
    """Load config and plugins; raises ConfigError or PluginError with one-line messages. The
    runtime owns ``telemetry`` (a new, disabled one by default)."""
    env = os.environ if env is None else env
    config = load_config(config_path, cli, env, cwd)
    platform = str(config.get("platform") or detect_platform(env))
    autoload = bool(config.get("plugins.autoload"))
    if platform in COLD_START_PLATFORMS and not config.explicit("plugins.autoload"):
        autoload = False
    pm = build_plugin_manager(
        autoload=autoload,
        modules=config.get("plugins.modules") or (),
        disable=config.get("plugins.disable") or (),
    )
    registry = collect_registry(pm)
    if not config.get("platform"):
        platform = _detect_with_plugins(registry, env, platform)
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
                config.extend_schema(comp.section, comp.options)
    warnings = config.validate()
    pm.hook.configure.call_historic(kwargs={"config": config})
    return Runtime(config, pm, registry, platform, warnings, telemetry or Telemetry())


def _detect_with_plugins(registry: Registry, env: Mapping[str, str], fallback: str) -> str:
    """A third-party platform may declare ``detect_env``; built-in detection wins ties."""
    if fallback != "server":
        return fallback
    for comp in registry.all("platform"):
        marker = comp.meta.get("detect_env")
        if marker and env.get(marker) and comp.name != "server":
            return comp.name
    return fallback
