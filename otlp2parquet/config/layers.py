"""Layered configuration: declared defaults < platform defaults < config file < environment < flags.

Core keys are declared in ``schemas/config.schema.json``; each plugin declares its own sections
(``options=`` on register), the built-ins too. Environment variables resolve against every
declared key, once plugins have declared theirs, never by guessing where to split on
``_``: ``OTLP2PARQUET_BATCH_MAX_ROWS`` is ``batch.max_rows`` because that key exists, and the
names the Rust tool used are listed in the schema under ``x-env``. Every leaf value remembers
where it came from, so errors and ``config show --origin`` can say so.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jsonschema

from otlp2parquet.config.mask import MASK
from otlp2parquet.config.variables import check_unknown
from otlp2parquet.errors import ConfigError, PluginError

log = logging.getLogger(__name__)

ENV_PREFIX = "OTLP2PARQUET_"
#: Variables that locate the config file rather than set a key.
FILE_VARIABLES = {"OTLP2PARQUET_CONFIG", "OTLP2PARQUET_CONFIG_CONTENT"}

# Precedence ranks, lowest first.
RANKS = ("default", "platform", "file", "env", "cli")


def load_config_schema() -> dict[str, Any]:
    """The declared configuration schema shipped in ``schemas/``."""
    text = resources.files("otlp2parquet.schemas").joinpath("config.schema.json").read_text()
    return json.loads(text)


@dataclass(frozen=True)
class KeyInfo:
    """One declared leaf key."""

    path: str
    schema: dict[str, Any]

    @property
    def secret(self) -> bool:
        return bool(self.schema.get("x-secret"))

    @property
    def env_names(self) -> list[str]:
        names = [ENV_PREFIX + self.path.upper().replace(".", "_")]
        names += [ENV_PREFIX + alias for alias in self.schema.get("x-env", [])]
        return names


def iter_leaves(schema: Mapping[str, Any], prefix: str = "") -> Iterator[KeyInfo]:
    """Every declared leaf key of an object schema (objects with free-form values are leaves)."""
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        if sub.get("type") == "object" and "properties" in sub:
            yield from iter_leaves(sub, path + ".")
        else:
            yield KeyInfo(path, sub)


def schema_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The nested dict of every declared default."""
    out: dict[str, Any] = {}
    for key in iter_leaves(schema):
        if "default" in key.schema:
            set_path(out, key.path, copy.deepcopy(key.schema["default"]))
    return out


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            nxt = target[part] = {}
        target = nxt
    target[parts[-1]] = value


def get_path(source: Mapping[str, Any], path: str, default: Any = None) -> Any:
    node: Any = source
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every leaf; empty tables are leaves too."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, path + ".")
        else:
            yield path, value


@dataclass
class Layer:
    """One source of values, with a description of where each value came from."""

    rank: str
    data: dict[str, Any]
    origin: str  # e.g. "config.toml", "environment", "defaults"
    origins: dict[str, str] = field(default_factory=dict)  # path -> precise origin

    def origin_of(self, path: str) -> str:
        if path in self.origins:
            return self.origins[path]
        return self.origin if self.rank in ("default", "platform") else f"{self.origin} ({path})"


class Config:
    """The merged configuration with the origin of every value.

    Read with ``get("batch.max_rows")`` or ``section("storage.s3")``. Built by ``load_config``.
    """

    def __init__(
        self, schema: dict[str, Any], layers: list[Layer], env: Mapping[str, str] | None = None
    ) -> None:
        self.schema = schema
        self.env: Mapping[str, str] = os.environ if env is None else env
        self._layers = layers
        self.data: dict[str, Any] = {}
        self.origins: dict[str, str] = {}
        #: ``OTLP2PARQUET_*`` variables no declared key takes; decided by ``validate``.
        self.unknown_variables: list[str] = []
        self._owners: dict[str, str] = {}  # section path -> plugin that declared it
        self._frozen = False
        self._merge()

    # -- building -------------------------------------------------------------------------
    def _merge(self) -> None:
        data: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for layer in sorted(self._layers, key=lambda layer: RANKS.index(layer.rank)):
            for path, value in flatten(layer.data):
                if isinstance(value, Mapping) and not value and get_path(data, path) is not None:
                    continue  # an empty table never wipes its neighbours' values
                set_path(data, path, copy.deepcopy(value))
                origins[path] = layer.origin_of(path)
        self.data = data
        self.origins = origins

    def add_layer(self, layer: Layer) -> None:
        """Add a layer (platform defaults, plugin defaults, adapters' overrides) and re-merge;
        only before ``freeze``: every value is validated once, with all its layers."""
        self._check_open("add a layer")
        self._layers.append(layer)
        self._merge()

    def set_environment(self, layer: Layer, unknown: list[str]) -> None:
        """Replace the environment layer (resolved again once plugins declared their keys)."""
        self._check_open("resolve the environment")
        self._layers = [x for x in self._layers if x.rank != "env"] + [layer]
        self.unknown_variables = list(unknown)
        self._merge()

    def freeze(self) -> None:
        """No more layers or schema extensions (``bootstrap`` calls this after ``configure``);
        ``derive`` makes a new, validated configuration with one more layer."""
        self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    def derive(self, layer: Layer) -> Config:
        """A new configuration with ``layer`` on top of these, validated and frozen."""
        derived = Config(copy.deepcopy(self.schema), [*self._layers, layer], self.env)
        derived.unknown_variables = list(self.unknown_variables)
        derived.validate(quiet=True)  # the warnings were logged for this configuration
        derived.freeze()
        return derived

    def _check_open(self, what: str) -> None:
        if self._frozen:
            raise RuntimeError(
                f"cannot {what}: the configuration is frozen once plugins are configured; "
                "pass the override to bootstrap(adjust=...) or use Config.derive"
            )

    def extend_schema(
        self, path: str, sub_schema: Mapping[str, Any], owner: str = "a plugin"
    ) -> None:
        """Declare ``owner``'s own section at ``path``; a section the core schema or another
        plugin already declares, or one inside a core key, is refused with a PluginError."""
        self._check_open("extend the schema")
        node = self.schema
        parts = path.split(".")
        for depth, part in enumerate(parts[:-1]):
            props = node.setdefault("properties", {})
            if part in props and "properties" not in props[part]:
                self._refuse(owner, path, ".".join(parts[: depth + 1]))
            node = props.setdefault(part, {"type": "object", "properties": {}})
        props = node.setdefault("properties", {})
        if parts[-1] in props:
            self._refuse(owner, path, path)
        props[parts[-1]] = copy.deepcopy(dict(sub_schema))
        self._owners[path] = owner
        defaults = schema_defaults(sub_schema)
        if defaults:
            layer: dict[str, Any] = {}
            set_path(layer, path, defaults)
            self.add_layer(Layer("default", layer, "defaults"))

    def _refuse(self, owner: str, path: str, taken: str) -> None:
        holder = f"plugin {self._owners[taken]!r}" if taken in self._owners else "the core schema"
        raise PluginError(
            f"plugin {owner!r} declares options for '{path}', but '{taken}' is declared by "
            f"{holder}; a plugin may only declare a section of its own"
        )

    # -- reading --------------------------------------------------------------------------
    def get(self, path: str, default: Any = None) -> Any:
        return get_path(self.data, path, default)

    def section(self, path: str) -> dict[str, Any]:
        value = get_path(self.data, path, {})
        return copy.deepcopy(value) if isinstance(value, dict) else {}

    def explicit(self, path: str) -> bool:
        """True when a config file, variable or flag sets ``path``."""
        return any(
            get_path(layer.data, path) is not None
            for layer in self._layers
            if layer.rank in ("file", "env", "cli")
        )

    def origin(self, path: str) -> str:
        if path in self.origins:
            return self.origins[path]
        for known, origin in self.origins.items():
            if known.startswith(path + "."):
                return origin
        return "defaults"

    def secret_paths(self) -> set[str]:
        return {key.path for key in iter_leaves(self.schema) if key.secret}

    def masked(self) -> dict[str, Any]:
        """A copy of the data with every secret value masked."""
        data = copy.deepcopy(self.data)
        for path in self.secret_paths():
            if get_path(data, path):
                set_path(data, path, MASK)
        return data

    def show(self, with_origin: bool = False) -> str:
        """The effective configuration as TOML-like text, secrets masked."""
        pairs = [
            (f"{path} = {json.dumps(value, ensure_ascii=False)}", path)
            for path, value in sorted(flatten(self.masked()))
        ]
        if not with_origin:
            return "\n".join(line for line, _ in pairs)
        width = max((len(line) for line, _ in pairs), default=0)
        return "\n".join(f"{line:<{width}}  # {self.origin(path)}" for line, path in pairs)

    # -- validation -----------------------------------------------------------------------
    def validate(self, quiet: bool = False) -> list[str]:
        """Validate against the (extended) schema. Raise ConfigError for invalid values;
        return warnings for unknown keys (or raise them with ``strict = true``), logged unless
        ``quiet``."""
        self._check_variables(quiet)
        warnings: list[str] = []
        for layer in self._layers:
            warnings.extend(self._unknown_keys(layer))
        validator = jsonschema.Draft202012Validator(self._without_additional(self.schema))
        errors = sorted(validator.iter_errors(self.data), key=lambda e: list(e.absolute_path))
        if errors:
            raise ConfigError(self._describe(errors[0]))
        if warnings and self.get("strict"):
            raise ConfigError(warnings[0] + " (strict = true makes this an error)")
        for warning in [] if quiet else warnings:
            log.warning("%s", warning)
        return warnings

    def _check_variables(self, quiet: bool) -> None:
        """Unknown ``OTLP2PARQUET_*`` variables: a warning, or an error with ``strict`` or when
        the name looks like a credential (see ``config.variables``)."""
        accepted = sorted(
            name for key in iter_leaves(self.schema) if key.secret for name in key.env_names
        )
        warning = check_unknown(self.unknown_variables, accepted, bool(self.get("strict")))
        if warning and not quiet:
            log.warning("%s", warning)

    def _without_additional(self, schema: Any) -> Any:
        """Unknown keys are reported by ``_unknown_keys`` with their origin; keep jsonschema to
        values."""
        if isinstance(schema, dict):
            out = {k: self._without_additional(v) for k, v in schema.items()}
            if out.get("additionalProperties") is False:
                out.pop("additionalProperties")
            return out
        if isinstance(schema, list):
            return [self._without_additional(v) for v in schema]
        return schema

    def _unknown_keys(self, layer: Layer) -> list[str]:
        if layer.rank in ("default", "platform"):
            return []
        out = []
        for path, _ in flatten(layer.data):
            if not self._declared(path):
                hint = closest_key(path, [k.path for k in iter_leaves(self.schema)])
                fix = f"; did you mean '{hint}'?" if hint else ""
                out.append(f"unknown key '{path}' in {layer.origin_of(path)}{fix}")
        return out

    def _declared(self, path: str) -> bool:
        node: Any = self.schema
        for part in path.split("."):
            props = node.get("properties")
            if props is None:
                return node.get("type") == "object"  # free-form table
            if part not in props:
                return False
            node = props[part]
        return True

    def _describe(self, error: jsonschema.ValidationError) -> str:
        path = ".".join(str(p) for p in error.absolute_path)
        origin = self.origin(path) if path else "the configuration"
        sub = error.schema if isinstance(error.schema, dict) else {}
        allowed = describe_allowed(sub)
        secret = path in self.secret_paths()
        value = MASK if secret else json.dumps(error.instance)
        reason = f"fails the '{error.validator}' rule" if secret else error.message
        return (
            f"invalid value {value} for '{path}' from {origin}: {reason}; "
            f"allowed: {allowed}. Fix it there, or override it with "
            f"{KeyInfo(path, sub).env_names[0]}."
        )


def describe_allowed(schema: Mapping[str, Any]) -> str:
    if "x-allowed" in schema:
        return str(schema["x-allowed"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    parts = [str(schema.get("type", "any value"))]
    for word, symbol in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<=")):
        if word in schema:
            parts.append(f"{symbol} {schema[word]}")
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    return " ".join(parts)


def closest_key(path: str, known: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(path, known, n=1, cutoff=0.75)
    return match[0] if match else None
