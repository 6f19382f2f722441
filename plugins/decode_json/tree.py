"""OTLP/JSON that the typed decoder refused, brought into the one form its structs read.

The structs accept lowerCamelCase field names, enums as numbers and no unknown fields, which keeps
the common body on msgspec's fast path. Everything else the proto3 JSON mapping allows (and the
Collector reads) comes here as a plain tree, walked along the message types:

- field names in their proto spelling (``time_unix_nano``), in any mix with lowerCamelCase;
- enum values as names (any case) or numeric strings; an unknown name is an error naming the enum
  and its names;
- ``null`` for any field: its default;
- unknown fields: ignored.

What stays wrong after that (a string where a number belongs, ...) is left for msgspec to report
with its path.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from .messages import ENUM_FIELDS, ENUM_TYPES

#: A JSON path built only when an error needs it: (parent, step) links back to the root.
Path = tuple[Any, str] | None


class TreeError(ValueError):
    """An OTLP/JSON value the mapping does not allow; the message says what and where."""


def render(path: Path) -> str:
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(step)
    return "$" + "".join(reversed(steps))


def _message_type(kind: msgspec.inspect.Type) -> type | None:
    """The struct a field holds (alone, optional or repeated), else None."""
    if isinstance(kind, msgspec.inspect.StructType):
        return kind.cls
    if isinstance(kind, msgspec.inspect.VarTupleType):
        return _message_type(kind.item_type)
    if isinstance(kind, msgspec.inspect.UnionType):
        for member in kind.types:
            found = _message_type(member)
            if found is not None:
                return found
    return None


@functools.cache
def fields_of(cls: type) -> dict[str, tuple[str, type | None]]:
    """Both spellings of each field of ``cls`` → (its JSON name, the struct it holds)."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    out: dict[str, tuple[str, type | None]] = {}
    for field in info.fields:
        entry = (field.encode_name, _message_type(field.type))
        out[field.encode_name] = entry
        out[field.name] = entry
    return out


def normalize(tree: Any, cls: type) -> Any:
    """``tree`` (decoded JSON) rewritten for the struct ``cls``; raises TreeError."""
    return _message(tree, cls, None)


def _message(node: Any, cls: type, path: Path) -> Any:
    if not isinstance(node, dict):
        return node  # msgspec reports the wrong type, with its path
    fields = fields_of(cls)
    out: dict[str, Any] = {}
    for key, value in node.items():
        entry = fields.get(key)
        if entry is None or value is None:
            continue
        name, child = entry
        if child is not None:
            where = (path, "." + name)
            if isinstance(value, list):
                value = [_message(v, child, (where, f"[{i}]")) for i, v in enumerate(value)]
            else:
                value = _message(value, child, where)
        elif isinstance(value, str) and name in ENUM_FIELDS:
            value = _enum(value, name, (path, "." + name))
        out[name] = value
    return out


def _enum(value: str, name: str, path: Path) -> int | str:
    names = ENUM_FIELDS[name]
    number = names.get(value.upper())
    if number is not None:
        return number
    if value.lstrip("-").isdigit():
        return int(value)
    raise TreeError(
        f"{value[:60]!r} is not a {ENUM_TYPES[name]} name - at `{render(path)}`; "
        f"use a number or one of {', '.join(names)}"
    )
