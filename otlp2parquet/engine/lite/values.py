"""The pyarrow-free forms of the transforms and extractors declared in ``mapping.registry``
(``_<name>`` here): plain Python over lists, the same values as the Arrow forms of
``otlp2parquet.mapping.transforms``. A third-party transform gets one with
``@lite_transform(name)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from otlp2parquet.mapping.otlp_values import anyvalue_text, hex_ids, padded_hex_ids
from otlp2parquet.mapping.registry import register_form

if TYPE_CHECKING:
    from otlp2parquet.engine.lite.mapping import LitePlan

U64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1

#: transform(values, objects, plan) -> list; ``objects`` are what the values were read from.
LiteTransform = Callable[[Sequence[Any], Sequence[Any], "LitePlan"], list[Any]]
#: extractor(objects) -> list
LiteExtractor = Callable[[Sequence[Any]], list[Any]]


def lite_transform(name: str) -> Callable[[LiteTransform], LiteTransform]:
    """A decorator adding the pyarrow-free form of transform ``name`` to ``mapping.registry``."""
    return register_form(name, "transform", "python")


def lite_extractor(name: str) -> Callable[[LiteExtractor], LiteExtractor]:
    """A decorator adding the pyarrow-free form of extractor ``name`` to ``mapping.registry``."""
    return register_form(name, "extractor", "python")


def u64(value: Any) -> int:
    """An unsigned 64-bit value, clamped into range."""
    number = int(value)
    return number if 0 <= number <= U64_MAX else min(max(number, 0), U64_MAX)


def attribute_pairs(attributes: Sequence[Any]) -> list[tuple[str, str]]:
    """Attributes as a map column's entries: keys sorted, the last of equal keys wins, values
    as text."""
    text = anyvalue_text
    found = {kv.key: (v.string_value or text(v)) for kv in attributes for v in (kv.value,)}
    return sorted(found.items())


# -- transforms --------------------------------------------------------------------------------
def _value(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    return list(values)


def _hex_id(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    return hex_ids(values)


def _hex_id_padded(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    return padded_hex_ids(values, int(plan.options["size"]))


def _timestamp(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    nanos = [u64(v) for v in values]
    fallback = plan.fallback
    if fallback is not None:
        nanos = [n or u64(fallback(o)) for n, o in zip(nanos, objects, strict=True)]
    return [n // 1000 for n in nanos]


def _uint64(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    return [min(u64(v), INT64_MAX) for v in values]


def _mask(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    mask = int(plan.options["mask"])
    return [int(v) & mask for v in values]


def _enum_text(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    names = list(plan.options["names"])
    count = len(names)
    return [names[v] if 0 <= v < count else "" for v in map(int, values)]


def _anyvalue_text(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    text = anyvalue_text
    return [v.string_value or text(v) for v in values]


def _attributes(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    return [attribute_pairs(v) for v in values]


def _attribute_text(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    key = str(plan.options["key"])
    text = anyvalue_text
    out = []
    for attributes in values:
        found = ""
        for kv in attributes:  # the last one when repeated
            if kv.key == key:
                found = text(kv.value)
        out.append(found)
    return out


def _optional(values: Sequence[Any], objects: Sequence[Any], plan: LitePlan) -> list[Any]:
    leaf = plan.leaf
    parents = objects if plan.parent_getter is None else list(map(plan.parent_getter, objects))
    return [v if p.HasField(leaf) else None for v, p in zip(values, parents, strict=True)]


# -- extractors --------------------------------------------------------------------------------
def _number_value(objects: Sequence[Any]) -> list[Any]:
    """A NumberDataPoint's or Exemplar's value: as_double, or as_int converted; 0 if unset."""
    out = []
    for point in objects:
        kind = point.WhichOneof("value")
        out.append(point.as_double if kind == "as_double" else float(point.as_int) if kind else 0.0)
    return out


def _duration(objects: Sequence[Any]) -> list[Any]:
    """Span end − start in nanoseconds; 0 when the end is before the start."""
    out = []
    for span in objects:
        start, end = u64(span.start_time_unix_nano), u64(span.end_time_unix_nano)
        out.append(min(end - start, INT64_MAX) if end > start else 0)
    return out
