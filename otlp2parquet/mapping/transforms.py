"""The Arrow forms of the schema files' named transforms and extractors (``transform =
"hex_id"``, ``source = "extractor:duration"``), declared in ``mapping.registry``: ``_<name>``
here. Third-party schemas may add their own with the decorators."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from otlp2parquet.mapping.attributes import attribute_maps, attribute_text
from otlp2parquet.mapping.otlp_values import anyvalue_text, hex_id_array, padded_hex_ids
from otlp2parquet.mapping.registry import register_form

if TYPE_CHECKING:
    from otlp2parquet.mapping.columns import ColumnPlan

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


_NUMERIC = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
)  # fmt: skip
#: numpy's dtype for each numeric Arrow type (``to_pandas_dtype()`` would import pandas).
_NUMPY_OF: dict[pa.DataType, np.dtype] = {
    pa.from_numpy_dtype(np.dtype(name)): np.dtype(name) for name in _NUMERIC
}


def numbers(values: np.ndarray, dtype: pa.DataType) -> pa.Array:
    """A numpy array as an Arrow array of ``dtype``, without Arrow's slow conversions where
    numpy converts safely (timestamps from int64, widening integers); checked otherwise."""
    if pa.types.is_timestamp(dtype) and values.dtype == np.int64:
        return pa.array(values).view(dtype)
    target = _NUMPY_OF.get(dtype)
    if target is not None and values.dtype != target and np.can_cast(values.dtype, target, "safe"):
        values = values.astype(target)
    return pa.array(values, dtype)


def read(getter: Callable[[Any], Any] | None, objects: Sequence[Any]) -> Sequence[Any]:
    """``getter`` applied to each object (the objects themselves without one)."""
    return objects if getter is None else list(map(getter, objects))


#: transform(values, objects, type, plan) -> Array; ``objects`` are what the values were read from.
ArrowTransform = Callable[[Sequence[Any], Sequence[Any], pa.DataType, "ColumnPlan"], pa.Array]
#: extractor(objects) -> values (a list or numpy array, converted to the column type).
Extractor = Callable[[Sequence[Any]], Any]


def transform(name: str) -> Callable[[ArrowTransform], ArrowTransform]:
    """A decorator adding the Arrow form of transform ``name`` to ``mapping.registry``."""
    return register_form(name, "transform", "arrow")


def extractor(name: str) -> Callable[[Extractor], Extractor]:
    """A decorator adding the Arrow form of extractor ``name`` to ``mapping.registry``."""
    return register_form(name, "extractor", "arrow")


# -- transforms -------------------------------------------------------------------------------
def _value(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    return pa.array(values, dtype)


def _hex_id(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    return hex_id_array(values).cast(dtype) if dtype != pa.string() else hex_id_array(values)


def _hex_id_padded(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    return pa.array(padded_hex_ids(values, int(plan.options["size"])), dtype)


def _clamp64(values: Any) -> np.ndarray:
    return np.minimum(u64_array(values), INT64_MAX).astype(np.int64)


def _timestamp(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    nanos = u64_array(values)
    if plan.fallback is not None:
        unset = np.flatnonzero(nanos == 0)
        if len(unset):
            nanos = nanos.copy() if nanos is values else nanos
            nanos[unset] = u64_array(read(plan.fallback, [objects[i] for i in unset.tolist()]))
    return numbers((nanos // np.uint64(1000)).astype(np.int64), dtype)


def _uint64(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    return numbers(_clamp64(values), dtype)


def _mask(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    mask = int(plan.options["mask"])
    if mask < 2**63:
        return numbers(np.bitwise_and(np.asarray(values, np.int64), mask), dtype)
    return pa.array([v & mask for v in values], dtype)


def _enum_text(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    names = plan.options["names"]
    codes = np.asarray(values, np.int64)
    codes = np.where((codes >= 0) & (codes < len(names)), codes, len(names))
    return pa.array([*names, ""], dtype).take(codes)


def _anyvalue_text(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    text = anyvalue_text
    return pa.array([v.string_value or text(v) for v in values], dtype)


def _attributes(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    return attribute_maps(values, dtype)


def _attribute_text(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    key = str(plan.options["key"])
    return pa.array([attribute_text(v, key) for v in values], dtype)


def _optional(
    values: Sequence[Any], objects: Sequence[Any], dtype: pa.DataType, plan: ColumnPlan
) -> pa.Array:
    leaf = plan.leaf
    parents = read(plan.parent_getter, objects)
    return pa.array(
        [v if p.HasField(leaf) else None for v, p in zip(values, parents, strict=True)], dtype
    )


# -- extractors -------------------------------------------------------------------------------
def _number_value(objects: Sequence[Any]) -> list[float] | np.ndarray:
    """A NumberDataPoint's or Exemplar's value: as_double, or as_int converted; 0 if unset."""
    if objects and all(hasattr(kind, "DESCRIPTOR") for kind in set(map(type, objects))):
        # protobuf messages only: unset members read as 0, so no WhichOneof is needed
        count = len(objects)
        doubles = np.fromiter(map(attrgetter("as_double"), objects), np.float64, count)
        ints = np.fromiter(map(attrgetter("as_int"), objects), np.int64, count)
        return np.where((doubles != 0) | np.signbit(doubles), doubles, ints.astype(np.float64))
    values = []
    for point in objects:
        kind = point.WhichOneof("value")
        values.append(
            point.as_double if kind == "as_double" else float(point.as_int) if kind else 0.0
        )
    return values


def _duration(objects: Sequence[Any]) -> np.ndarray:
    """Span end − start in nanoseconds; 0 when the end is before the start."""
    if not objects:
        return np.zeros(0, np.int64)
    start = u64_array(list(map(attrgetter("start_time_unix_nano"), objects)))
    end = u64_array(list(map(attrgetter("end_time_unix_nano"), objects)))
    return np.minimum(np.where(end > start, end - start, 0), INT64_MAX).astype(np.int64)
