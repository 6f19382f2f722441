"""The wire scan's round budget: a round is shared by every message still holding fields, so
many messages of a few fields scan in a few rounds; a few messages of very many fields would
take one round per field and are declined (and read with upb) instead. The attribute-map cache
never keeps a huge attribute list alive."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from otlp2parquet.mapping import attributes
from otlp2parquet.mapping.wire.scan import Unsupported, padded, scan


def buffer(messages: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = b"".join(messages)
    ends = np.cumsum([len(m) for m in messages])
    return padded(data), ends - np.array([len(m) for m in messages]), ends


def test_many_messages_of_many_fields_are_scanned() -> None:
    message = b"\x20\x01" * 300  # field 4 = 1, three hundred times
    buf, starts, ends = buffer([message] * 64)
    result = scan(buf, starts, ends)
    assert len(result.number) == 300 * 64
    assert set(result.number.tolist()) == {4} and set(result.value.tolist()) == {1}


def test_one_message_of_very_many_fields_is_declined() -> None:
    buf, starts, ends = buffer([b"\x20\x00" * 100_000])
    with pytest.raises(Unsupported, match="too few messages per round"):
        scan(buf, starts, ends)


def test_a_record_of_a_few_hundred_fields_alone_is_still_scanned() -> None:
    buf, starts, ends = buffer([b"\x20\x02" * 128])
    assert scan(buf, starts, ends).value.tolist() == [2] * 128


def test_huge_attribute_lists_are_not_cached() -> None:
    attributes._groups_cache.clear()
    kv = b"\x0a\x01k\x12\x03\x0a\x01v"  # KeyValue{key: "k", value: {string_value: "v"}}
    map_type = pa.map_(pa.string(), pa.string())
    small = attributes.attribute_maps([[kv] * 8], map_type)
    assert small.to_pylist() == [[("k", "v")]]
    assert len(attributes._groups_cache) == 1
    huge = attributes.attribute_maps([[kv] * 5000], map_type)
    assert huge.to_pylist() == [[("k", "v")]]
    assert len(attributes._groups_cache) == 1  # the 5000-item list was not kept
