"""The component registry: which plugin registered which decoder, mapper, backend, ...

Names are unique per kind; a duplicate is refused with both plugin names, and an unknown name is
answered with the list of known ones. Selection is never ambiguous: two decoders for one media
type, or two schema mappers for one signal, are refused with both plugin names too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from otlp2parquet.errors import PluginError
from otlp2parquet.plugin.meta import check_meta

KINDS = ("decoder", "schema_mapper", "partitioner", "storage_backend", "catalog", "platform")
#: The meta key naming what a component is selected by at run time, per kind (the decoder for a
#: request's media type, the mapper for a signal); two components may not claim the same value.
SELECTED_BY = {"decoder": ("media_types", "media type"), "schema_mapper": ("signal", "signal")}
#: Where a kind's component options live in the config.
SECTIONS = {"storage_backend": "storage.{name}", "partitioner": "partitioning.{name}"}


class Register(Protocol):
    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        options: Mapping[str, Any] | None = None,
        aliases: tuple[str, ...] = (),
        **meta: Any,
    ) -> None: ...


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    options: Mapping[str, Any] | None = None
    aliases: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def section(self) -> str:
        explicit = self.meta.get("section")
        if explicit:
            return str(explicit)
        return SECTIONS.get(self.kind, "{name}").format(name=self.name)


class Registry:
    """Components by kind and name."""

    def __init__(self) -> None:
        self._components: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}

    def registrar(self, kind: str, plugin: str) -> Register:
        """The ``register`` callable handed to one plugin's hook implementation."""

        def register(
            name: str,
            factory: Callable[..., Any],
            options: Mapping[str, Any] | None = None,
            aliases: tuple[str, ...] = (),
            **meta: Any,
        ) -> None:
            self.add(Component(kind, name, factory, plugin, options, tuple(aliases), meta))

        return register

    def add(self, component: Component) -> None:
        kind = component.kind
        if kind not in self._components:
            raise PluginError(f"unknown component kind {kind!r}; known: {', '.join(KINDS)}")
        check_meta(kind, component.name, component.plugin, component.meta)
        for name in (component.name, *component.aliases):
            existing = self._lookup(kind, name)
            if existing is not None:
                raise PluginError(
                    f"{kind.replace('_', ' ')} {name!r} is registered twice: by plugin "
                    f"{existing.plugin!r} and by plugin {component.plugin!r}; disable one of "
                    f"them with [plugins] disable = [...]"
                )
        self._check_unambiguous(component)
        self._check_one_fallback(component)
        self._components[kind][component.name] = component
        for alias in component.aliases:
            self._aliases[kind][alias] = component.name

    def _check_unambiguous(self, component: Component) -> None:
        """Refuse a component claiming a media type or signal another one already claims."""
        if component.kind not in SELECTED_BY:
            return
        key, what = SELECTED_BY[component.kind]
        for value in _claims(component.meta.get(key)):
            for other in self._components[component.kind].values():
                if value in _claims(other.meta.get(key)):
                    kind = component.kind.replace("_", " ")
                    raise PluginError(
                        f"{what} {value!r} is claimed by two {kind}s: {other.name!r} of plugin "
                        f"{other.plugin!r} and {component.name!r} of plugin "
                        f"{component.plugin!r}; disable one of them with "
                        "[plugins] disable = [...]"
                    )

    def _check_one_fallback(self, component: Component) -> None:
        """Refuse a second platform declaring ``fallback=True``."""
        if component.kind != "platform" or not component.meta.get("fallback"):
            return
        for other in self._components["platform"].values():
            if other.meta.get("fallback"):
                raise PluginError(
                    f"platforms {other.name!r} of plugin {other.plugin!r} and "
                    f"{component.name!r} of plugin {component.plugin!r} both register "
                    "fallback=True; disable one of them with [plugins] disable = [...]"
                )

    def _lookup(self, kind: str, name: str) -> Component | None:
        name = self._aliases[kind].get(name, name)
        return self._components[kind].get(name)

    def get(self, kind: str, name: str) -> Component:
        component = self._lookup(kind, name)
        if component is None:
            known = ", ".join(sorted(self._components[kind])) or "none"
            raise PluginError(f"unknown {kind.replace('_', ' ')} {name!r}; known: {known}")
        return component

    def all(self, kind: str) -> list[Component]:
        return sorted(self._components[kind].values(), key=lambda c: c.name)

    def names(self, kind: str) -> list[str]:
        return sorted(self._components[kind])

    def by_plugin(self) -> dict[str, list[Component]]:
        out: dict[str, list[Component]] = {}
        for kind in KINDS:
            for component in self.all(kind):
                out.setdefault(component.plugin, []).append(component)
        return out


def _claims(value: Any) -> tuple[str, ...]:
    """A meta value as a tuple of claimed strings (one string, or a list of them)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.lower(),)
    return tuple(str(v).lower() for v in value)
