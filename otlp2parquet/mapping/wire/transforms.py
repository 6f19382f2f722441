"""The wire-scan forms of the transforms and extractors declared in ``mapping.registry``
(``_<name>`` here): the Arrow forms' results over ``wire.rows.Leaf`` values, from numbers and
byte ranges read in bulk. A transform or extractor without a wire form (``attribute_text``, a
third party's) is read from messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otlp2parquet.mapping.attributes import raw_attribute_maps
from otlp2parquet.mapping.otlp_values import anyvalue_text, hex_binary, hex_rows, padded_hex_ids
from otlp2parquet.mapping.registry import register_form
from otlp2parquet.mapping.transforms import INT64_MAX, numbers
from otlp2parquet.mapping.wire.rows import Leaf, WireRows, descriptor
from otlp2parquet.mapping.wire.scan import Unsupported, fixed

if TYPE_CHECKING:
    from otlp2parquet.mapping.columns import ColumnPlan

#: wire transform(leaf, rows, type, plan) -> Array; ``rows`` are what the leaf was read from.
WireTransform = Callable[[Leaf, WireRows, pa.DataType, "ColumnPlan"], pa.Array]
#: wire extractor(rows) -> values (a list or numpy array, converted to the column type).
WireExtractor = Callable[[WireRows], Any]
_ANY_VALUE = "opentelemetry.proto.common.v1.AnyValue"
#: AnyValue's oneof members 1-7 (string, bool, int, double, array, kvlist, bytes): their wire
#: types (-1: not a member).
_MEMBER_WIRES = np.array([-1, 2, 0, 0, 1, 2, 2, 2, -1])


def wire(name: str) -> Callable[[WireTransform], WireTransform]:
    """A decorator adding the wire form of transform ``name`` to ``mapping.registry``."""
    return register_form(name, "transform", "wire")


def _numbers(leaf: Leaf) -> np.ndarray:
    if leaf.values is None:
        raise Unsupported(f"{leaf.field.name} is not a number")
    return leaf.values


def _value(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    if leaf.values is not None:
        return numbers(leaf.values, dtype)
    if leaf.field.type == leaf.field.TYPE_STRING and pa.types.is_string(dtype):
        return leaf.strings()
    raise Unsupported(f"{leaf.field.name} as {dtype}")


def _hex_id(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    if leaf.field.type != leaf.field.TYPE_BYTES or not pa.types.is_string(dtype):
        raise Unsupported(f"{leaf.field.name} as a hex ID")
    assert leaf.starts is not None and leaf.lengths is not None
    lengths = leaf.lengths
    if len(lengths) and lengths[0] and (lengths == lengths[0]).all():  # IDs of one width
        return hex_rows(leaf.buf[leaf.starts[:, None] + np.arange(int(lengths[0]))])
    return hex_binary(leaf.binary())


def _hex_id_padded(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    ids = leaf.binary().to_pylist()
    return pa.array(padded_hex_ids(ids, int(plan.options["size"])), dtype)


def _timestamp(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    nanos = _numbers(leaf).astype(np.uint64)
    if plan.fallback_path:
        unset = nanos == 0
        if unset.any():
            nanos = np.where(unset, _numbers(rows.leaf(plan.fallback_path)), nanos)
    return numbers((nanos // np.uint64(1000)).astype(np.int64), dtype)


def _uint64(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    values = _numbers(leaf).astype(np.uint64)
    return numbers(np.minimum(values, INT64_MAX).astype(np.int64), dtype)


def _mask(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    mask = int(plan.options["mask"])
    if not 0 <= mask < 2**63:
        raise Unsupported(f"mask {mask}")
    return numbers(np.bitwise_and(_numbers(leaf).astype(np.int64), mask), dtype)


def _enum_text(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    names = plan.options["names"]
    codes = _numbers(leaf).astype(np.int64)
    codes = np.where((codes >= 0) & (codes < len(names)), codes, len(names))
    return pa.array([*names, ""], dtype).take(codes)


def _optional(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    return pa.array(_numbers(leaf), dtype, mask=~leaf.present)


def _attributes(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    if leaf.offsets is None or leaf.field.message_type.name != "KeyValue":
        raise Unsupported(f"{leaf.field.name} is not a list of attributes")
    return raw_attribute_maps(leaf.binary(), np.diff(leaf.offsets), dtype)


def _anyvalue_text(leaf: Leaf, rows: WireRows, dtype: pa.DataType, plan: ColumnPlan) -> pa.Array:
    """A string member (the usual body) is read in place; other kinds through upb."""
    if leaf.field.type != leaf.field.TYPE_MESSAGE or leaf.offsets is not None:
        raise Unsupported(f"{leaf.field.name} is not an AnyValue")
    assert leaf.starts is not None and leaf.lengths is not None
    values = leaf.rows()
    found = values.scan()
    count = len(values)
    if (
        len(found.number) == count
        and (found.number == 1).all()
        and (found.wire == 2).all()
        and (found.message == np.arange(count)).all()
    ):  # one string each: the usual body
        starts = found.value.view(np.int64)
        text = Leaf(leaf.field, leaf.buf, found.length > 0, None, starts, found.length).strings()
        return text if dtype == pa.string() else text.cast(dtype)
    number = np.minimum(found.number, len(_MEMBER_WIRES) - 1)
    hits = np.flatnonzero(found.wire == _MEMBER_WIRES[number])
    if not len(hits):  # no value at all: ''
        return pa.array([""] * len(values), dtype)
    last = last_of(found.message[hits], hits, len(values))  # the member set last wins
    member = np.where(last >= 0, found.number[np.maximum(last, 0)], 0)
    strings = member == 1
    chosen = np.maximum(last, 0)
    starts = np.where(strings, found.value[chosen].astype(np.int64), 0)
    lengths = np.where(strings, found.length[chosen], 0)
    text = Leaf(leaf.field, leaf.buf, strings, None, starts, lengths).strings()
    others = np.flatnonzero(member > 1)
    if len(others):
        parse = _any_value().FromString
        data = leaf.buf
        bounds = zip(leaf.starts[others].tolist(), leaf.lengths[others].tolist(), strict=True)
        slow = [anyvalue_text(parse(data[s : s + n].tobytes())) for s, n in bounds]
        mask = np.zeros(len(values), bool)
        mask[others] = True
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(slow, pa.string()))
    return text if dtype == pa.string() else text.cast(dtype)


def last_of(owners: np.ndarray, occurrences: np.ndarray, count: int) -> np.ndarray:
    """For each of ``count`` messages, its last of ``occurrences`` (owned by ``owners``), or
    -1. Occurrences are numbered in scan order, so the last one is the largest."""
    last = np.full(count, -1, np.int64)
    np.maximum.at(last, owners, occurrences)
    return last


def _any_value() -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor(_ANY_VALUE))


def extractor(name: str) -> Callable[[WireExtractor], WireExtractor]:
    """A decorator adding the wire form of extractor ``name`` to ``mapping.registry``."""
    return register_form(name, "extractor", "wire")


def _duration(rows: WireRows) -> np.ndarray:
    start = _numbers(rows.leaf(("start_time_unix_nano",))).astype(np.uint64)
    end = _numbers(rows.leaf(("end_time_unix_nano",))).astype(np.uint64)
    return np.minimum(np.where(end > start, end - start, 0), INT64_MAX).astype(np.int64)


def _number_value(rows: WireRows) -> np.ndarray:
    """as_double or as_int (a oneof), whichever was set last; 0 if neither."""
    double = rows.number_of(rows.field("as_double"))
    integer = rows.number_of(rows.field("as_int"))
    found = rows.scan()
    hits = np.flatnonzero(np.isin(found.number, (double, integer)) & (found.wire == 1))
    last = last_of(found.message[hits], hits, len(rows))
    chosen = last[last >= 0]
    raw = fixed(found.buf, found.value[chosen].astype(np.int64), 8, "<u8")
    values = np.zeros(len(rows), np.float64)
    doubles = found.number[chosen] == double
    values[np.flatnonzero(last >= 0)] = np.where(
        doubles, raw.view("<f8"), raw.view("<i8").astype(np.float64)
    )
    return values
