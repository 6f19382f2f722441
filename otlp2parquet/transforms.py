"""Named value transforms and extractors that schema files refer to (``transform = "hex_id"``,
``source = "extractor:duration"``). Third-party schemas may add their own with the decorators."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from otlp2parquet.attributes import attribute_maps, attribute_text
from otlp2parquet.otlp_values import anyvalue_text, hex_ids, padded_hex_ids

if TYPE_CHECKING:
    from otlp2parquet.columns import ColumnPlan

INT64_MAX = np.uint64(2**63 - 1)
_U64_MAX = 2**64 - 1


def u64_array(values: Any) -> np.ndarray:
    """Unsigned 64-bit values as a numpy array (out-of-range values clamped)."""
    if not len(values):
        return np.zeros(0, np.uint64)
    try:
        return np.asarray(values, np.uint64)
    except OverflowError:  # only from lax JSON: a value beyond 64 bits
        return np.asarray([min(max(int(v), 0), _U64_MAX) for v in values], np.uint64)


def read(getter: Callable[[Any], Any] | None, objects: list[Any]) -> list[Any]:
    """``getter`` applied to each object (the objects themselves without one)."""
    return objects if getter is None else list(map(getter, objects))


#: transform(values, objects, type, plan) -> Array; ``objects`` are what the values were read from.
Transform = Callable[[list[Any], list[Any], pa.DataType, "ColumnPlan"], pa.Array]
TRANSFORMS: dict[str, Transform] = {}
#: extractor(objects) -> values (a list or numpy array, converted to the column type).
Extractor = Callable[[list[Any]], Any]
EXTRACTORS: dict[str, Extractor] = {}


def transform(name: str) -> Callable[[Transform], Transform]:
    def add(fn: Transform) -> Transform:
        TRANSFORMS[name] = fn
        return fn

    return add


def extractor(name: str) -> Callable[[Extractor], Extractor]:
    def add(fn: Extractor) -> Extractor:
        EXTRACTORS[name] = fn
        return fn

    return add


# -- transforms -------------------------------------------------------------------------------
@transform("value")
def _value(values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    return pa.array(values, dtype)


@transform("hex_id")
def _hex(values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    return pa.array(hex_ids(values), dtype)


@transform("hex_id_padded")
def _padded(
    values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    return pa.array(padded_hex_ids(values, int(plan.options["size"])), dtype)


def _uint64(values: Any) -> np.ndarray:
    return np.minimum(u64_array(values), INT64_MAX).astype(np.int64)


@transform("timestamp")
def _timestamp(
    values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    nanos = u64_array(values)
    if plan.fallback is not None:
        nanos = np.where(nanos == 0, u64_array(read(plan.fallback, objects)), nanos)
    return pa.array((nanos // np.uint64(1000)).astype(np.int64), dtype)


@transform("uint64")
def _clamped(
    values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    return pa.array(_uint64(values), dtype)


@transform("mask")
def _mask(values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    mask = int(plan.options["mask"])
    return pa.array([v & mask for v in values], dtype)


@transform("enum_text")
def _enum(values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    names = dict(enumerate(plan.options["names"]))
    return pa.array([names.get(v, "") for v in values], dtype)


@transform("anyvalue_text")
def _text(values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    text = anyvalue_text
    return pa.array([v.string_value or text(v) for v in values], dtype)


@transform("attributes")
def _maps(values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    return attribute_maps(values, dtype)


@transform("attribute_text")
def _attr(values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    key = str(plan.options["key"])
    return pa.array([attribute_text(v, key) for v in values], dtype)


@transform("optional")
def _optional(
    values: list[Any], objects: list[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    leaf = plan.leaf
    parents = read(plan.parent_getter, objects)
    return pa.array(
        [v if p.HasField(leaf) else None for v, p in zip(values, parents, strict=True)], dtype
    )


# -- extractors -------------------------------------------------------------------------------
@extractor("number_value")
def _number_values(objects: list[Any]) -> list[float]:
    """A NumberDataPoint's or Exemplar's value: as_double, or as_int converted; 0 if unset."""
    values = []
    for point in objects:
        kind = point.WhichOneof("value")
        values.append(
            point.as_double if kind == "as_double" else float(point.as_int) if kind else 0.0
        )
    return values


@extractor("duration")
def _durations(objects: list[Any]) -> np.ndarray:
    """Span end − start in nanoseconds; 0 when the end is before the start."""
    if not objects:
        return np.zeros(0, np.int64)
    start = u64_array(list(map(attrgetter("start_time_unix_nano"), objects)))
    end = u64_array(list(map(attrgetter("end_time_unix_nano"), objects)))
    return np.minimum(np.where(end > start, end - start, 0), INT64_MAX).astype(np.int64)
