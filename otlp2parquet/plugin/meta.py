"""The ``**meta`` each component kind accepts, and the shape of each value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from otlp2parquet.errors import PluginError


def _strings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _string_or_strings(value: Any) -> bool:
    return value is None or isinstance(value, str) or _strings(value)


_SHAPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "section": ("a string", lambda v: isinstance(v, str)),
    "media_types": ("a list of strings", _strings),
    "signal": ("a string", lambda v: isinstance(v, str)),
    "tables": ("a list of strings", _strings),
    "url_schemes": ("a list of strings", _strings),
    "from_url": ("a callable", callable),
    "query": ("a LakeAccess", lambda v: hasattr(v, "clickhouse")),
    "detect_env": ("a variable name or a list of them", _string_or_strings),
    "defaults": ("a dict", lambda v: isinstance(v, Mapping)),
    "fallback": ("True or False", lambda v: isinstance(v, bool)),
    "cold_start": ("True or False", lambda v: isinstance(v, bool)),
    "lite_factory": ("a callable", callable),
}
#: The ``**meta`` keys each kind accepts (``section`` names where its options live, any kind).
META_KEYS: dict[str, frozenset[str]] = {
    "decoder": frozenset({"section", "media_types"}),
    "schema_mapper": frozenset({"section", "signal", "tables"}),
    "partitioner": frozenset({"section"}),
    "storage_backend": frozenset({"section", "url_schemes", "from_url", "query"}),
    "catalog": frozenset({"section", "lite_factory"}),
    "platform": frozenset({"section", "detect_env", "defaults", "fallback", "cold_start"}),
}
#: Keys a kind must declare: the pipeline selects a mapper by signal and loads its tables.
REQUIRED: dict[str, tuple[str, ...]] = {"schema_mapper": ("signal", "tables")}


def check_meta(kind: str, name: str, plugin: str, meta: Mapping[str, Any]) -> None:
    """Raise PluginError for an unknown key, a missing required key or a value of the wrong
    shape, naming the component and its plugin."""
    accepted = META_KEYS[kind]
    what = kind.replace("_", " ")
    component = f"{what} {name!r} of plugin {plugin!r}"
    for key in sorted(set(meta) - accepted):
        raise PluginError(
            f"{component} has unknown meta key {key!r}; a {what} accepts: "
            f"{', '.join(sorted(accepted))}"
        )
    for key in REQUIRED.get(kind, ()):
        if key not in meta:
            raise PluginError(f"{component} does not declare meta {key!r}; a {what} must")
    for key, value in sorted(meta.items()):
        shape, ok = _SHAPES[key]
        if not ok(value):
            raise PluginError(f"{component}: meta {key!r} must be {shape}, not {value!r}")
