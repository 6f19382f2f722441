"""The one registry of the schema files' named transforms (``transform = "hex_id"``) and
extractors (``source = "extractor:duration"``): each name is declared once, with every form it
has.

- ``arrow``: an Arrow array from values read off messages (``mapping.transforms``);
- ``wire``: the same from ``wire.rows.Leaf`` numbers and byte ranges
  (``mapping.wire.transforms``); optional, a column without it is read from messages;
- ``python``: plain lists, for the pyarrow-free engine (``engine.lite.values``).

Forms are ``"module:function"`` strings, imported on first use. This module must import without
pyarrow or numpy (the Worker has neither) and still name the Arrow and wire forms beside the
Python one: strings keep the declaration in this one table while an engine imports only the
forms it asks for. Registering from the form modules instead would scatter the names again, and
knowing what exists would need every form module (and so pyarrow) imported.

A third party adds its own with ``register(Transform(...))`` (forms as callables or strings) or
the decorators ``transforms.transform``/``extractor`` (Arrow), ``wire.transforms.wire`` and
``lite.values.lite_transform``/``lite_extractor``, which all add a form here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from otlp2parquet.errors import ConfigError

Kind = Literal["transform", "extractor"]
FormName = Literal["arrow", "wire", "python"]
#: a form: the function, or where it is (``"package.module:function"``)
Form = Callable[..., Any] | str
F = TypeVar("F", bound=Callable[..., Any])
FORMS: tuple[FormName, ...] = ("arrow", "wire", "python")
#: how an error message names each form
LABELS: dict[str, str] = {"arrow": "Arrow", "wire": "wire-scan", "python": "pyarrow-free"}


@dataclass
class Transform:
    """A named transform (or extractor) and its forms; a missing form is None."""

    name: str
    kind: Kind = "transform"
    arrow: Form | None = None
    wire: Form | None = None
    python: Form | None = None

    def form(self, form: FormName) -> Callable[..., Any] | None:
        """The ``form`` function, imported the first time it is asked for."""
        found = getattr(self, form)
        if isinstance(found, str):
            module, _, attr = found.partition(":")
            found = getattr(importlib.import_module(module), attr)
            setattr(self, form, found)
        return found

    def forms(self) -> list[str]:
        return [form for form in FORMS if getattr(self, form) is not None]


REGISTRY: dict[str, Transform] = {}


def register(entry: Transform) -> Transform:
    """Add ``entry``, replacing one of the same name."""
    REGISTRY[entry.name] = entry
    return entry


def register_form(name: str, kind: Kind, form: FormName) -> Callable[[F], F]:
    """A decorator adding the decorated function as ``name``'s ``form`` (the entry created if
    new); ValueError if ``name`` is registered as the other kind."""

    def add(fn: F) -> F:
        entry = REGISTRY.get(name) or register(Transform(name, kind))
        if entry.kind != kind:
            raise ValueError(f"{name!r} is registered as an {entry.kind}, not a {kind}")
        setattr(entry, form, fn)
        return fn

    return add


def lookup(name: str, kind: Kind, form: FormName, where: str) -> Callable[..., Any]:
    """``name``'s ``form`` function; ConfigError (prefixed ``where``) naming the transform and
    the missing form if there is none."""
    entry = REGISTRY.get(name)
    label = LABELS[form]
    if entry is not None and entry.kind != kind:
        raise ConfigError(f"{where}: {name!r} is an {entry.kind}, not a {kind}")
    if entry is None:
        known = ", ".join(sorted(n for n, e in REGISTRY.items() if e.kind == kind))
        raise ConfigError(
            f"{where}: {kind} {name!r} has no {label} form: unknown {kind} (known: {known})"
        )
    found = entry.form(form)
    if found is None:
        has = ", ".join(LABELS[f] for f in entry.forms()) or "none"
        raise ConfigError(f"{where}: {kind} {name!r} has no {label} form (it has: {has})")
    return found


def optional(name: str, kind: Kind, form: FormName) -> Callable[..., Any] | None:
    """``name``'s ``form`` function if it has one (a form an engine can do without)."""
    entry = REGISTRY.get(name)
    return entry.form(form) if entry is not None and entry.kind == kind else None


def _builtin(name: str, kind: Kind = "transform", wire: bool = True) -> None:
    """A built-in: its forms are the functions ``_<name>`` of the three form modules."""
    fn = f"_{name}"
    register(
        Transform(
            name,
            kind,
            arrow=f"otlp2parquet.mapping.transforms:{fn}",
            wire=f"otlp2parquet.mapping.wire.transforms:{fn}" if wire else None,
            python=f"otlp2parquet.engine.lite.values:{fn}",
        )
    )


for _name in (
    "value", "hex_id", "hex_id_padded", "timestamp", "uint64", "mask", "enum_text",
    "anyvalue_text", "attributes", "optional",
):  # fmt: skip
    _builtin(_name)
_builtin("attribute_text", wire=False)  # read from messages: the scan has no use for it
_builtin("number_value", "extractor")
_builtin("duration", "extractor")
