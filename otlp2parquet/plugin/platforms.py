"""Which platform runs here: the one whose ``detect_env`` variable is set, else the fallback.

Each platform plugin declares ``detect_env`` (a variable name, or a tuple of them) when it
registers; one platform declares ``fallback=True`` (the built-in ``server``) and is chosen when no
declared variable is set. Two platforms selected by the environment at once are an error: set
``platform`` to choose.
"""

from __future__ import annotations

from collections.abc import Mapping

from otlp2parquet.errors import ConfigError, PluginError
from otlp2parquet.plugin.registry import Component, Registry


def detect_env(component: Component) -> tuple[str, ...]:
    """The variables a platform declares; ``None`` or ``()`` for none."""
    value = component.meta.get("detect_env")
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def detect_platform(registry: Registry, env: Mapping[str, str]) -> str:
    """The name of the platform the environment selects; raises PluginError when two platforms
    claim one set variable or none is the fallback, ConfigError when two variables are set."""
    found: dict[str, Component] = {}
    for component in registry.all("platform"):
        for variable in detect_env(component):
            if not env.get(variable):
                continue
            other = found.get(variable)
            if other is not None:
                raise PluginError(
                    f"environment variable {variable} selects two platforms: {other.name!r} of "
                    f"plugin {other.plugin!r} and {component.name!r} of plugin "
                    f'{component.plugin!r}; set platform = "..." or disable one of them with '
                    "[plugins] disable = [...]"
                )
            found[variable] = component
    names = sorted({c.name for c in found.values()})
    if len(names) > 1:
        variables = ", ".join(f"{v} ({c.name})" for v, c in sorted(found.items()))
        raise ConfigError(
            f"the environment selects more than one platform: {variables}; set platform = "
            '"..." (OTLP2PARQUET_PLATFORM) to choose one'
        )
    if names:
        return names[0]
    fallback = [c.name for c in registry.all("platform") if c.meta.get("fallback")]
    if not fallback:
        declared = sorted({v for c in registry.all("platform") for v in detect_env(c)})
        raise PluginError(
            f"no platform selected: none of {', '.join(declared) or 'no variables'} is set and "
            'no platform registers fallback=True; set platform = "..."'
        )
    return fallback[0]
