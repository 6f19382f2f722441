"""Value rules: AnyValue text, numbers the JavaScript way, IDs, attribute maps, and the bulk
parser of serialized KeyValues agreeing with upb."""

from __future__ import annotations

import struct

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from otlp2parquet.mapping.attributes import attribute_maps, attribute_text
from otlp2parquet.mapping.otlp_values import anyvalue_text, hex_ids, js_number, padded_hex_ids
from otlp2parquet.mapping.wire.kv import parse_key_values, parse_kv
from otlp2parquet.schema.tables import arrow_type
from support.signal_samples import ALL_KINDS, attrs, value

MAP = arrow_type("map<string, string>")


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (5.0, "5"), (637.704, "637.704"), (1e-7, "1e-7"), (1e21, "1e+21"),
        (1e20, "100000000000000000000"), (1e16, "10000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (1e-6, "0.000001"), (1.5e-5, "0.000015"), (-2.5, "-2.5"), (0.0, "0"), (-0.0, "0"),
        (0.1 + 0.2, "0.30000000000000004"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"), (-1.5e-7, "-1.5e-7"), (2.5e21, "2.5e+21"), (float("nan"), "NaN"),
        (float("inf"), "Infinity"), (float("-inf"), "-Infinity"),
    ],
)  # fmt: skip
def test_js_number(number: float, text: str) -> None:
    assert js_number(number) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
@settings(max_examples=300, deadline=None)
def test_js_number_round_trips(number: float) -> None:
    text = js_number(number)
    assert float(text) == number
    assert "e" not in text or abs(number) < 1e-6 or abs(number) >= 1e21
    assert not text.endswith(".0")


@pytest.mark.parametrize(
    ("python", "text"),
    [
        ("plain", "plain"), ("", ""), (None, ""), (True, "true"), (False, "false"), (-7, "-7"),
        (2**63 - 1, "9223372036854775807"), (5.0, "5"), (b"\x00\xff", "AP8="), ([], "[]"),
        (["many", "values"], '["many","values"]'), ({"some.map.key": "some value"},
        '{"some.map.key":"some value"}'), ({"b": 1, "a": 2.0}, '{"a":2,"b":1}'),
        ([1, 1.5, True, None, b"\x01", "é\"\n", [float("nan")]],
         '[1,1.5,true,null,"AQ==","é\\"\\n",[null]]'),
        ({"k": {"z": [], "y": {}}}, '{"k":{"y":{},"z":[]}}'),
    ],
)  # fmt: skip
def test_anyvalue_text(python: object, text: str) -> None:
    assert anyvalue_text(value(python)) == text


def test_hex_ids() -> None:
    trace = "5b8efff798038103d269b633813fc60c"
    assert hex_ids([bytes.fromhex(trace), b"", bytes(16), bytes(8)]) == [trace, "", "", ""]
    assert hex_ids(["abcd", "", "0" * 32]) == ["abcd", "", ""]
    assert padded_hex_ids([b"", b"\x01" * 8, b"\x02"], 8) == [
        "0" * 16, "01" * 8, "02" + "0" * 14,
    ]  # fmt: skip
    assert padded_hex_ids(["", "ab" * 8], 8) == ["0" * 16, "ab" * 8]


def test_attribute_maps_sort_keys_and_keep_the_last_duplicate() -> None:
    groups = [attrs([("b", 1), ("a", "x"), ("b", 2)]), [], attrs({"only": True})]
    maps = attribute_maps(groups, MAP)
    assert maps.type == MAP
    assert maps.to_pylist() == [[("a", "x"), ("b", "2")], [], [("only", "true")]]


def test_attribute_maps_from_serialized_key_values_equal_those_from_messages() -> None:
    groups = [attrs(ALL_KINDS), attrs({"z": "1", "a": 2}), [], attrs({"x": None})]
    raw = [[kv.SerializeToString() for kv in group] for group in groups]
    assert attribute_maps(raw, MAP).equals(attribute_maps(groups, MAP))
    assert attribute_maps([[], []], MAP).to_pylist() == [[], []]
    assert attribute_maps([], MAP).to_pylist() == []


def test_attribute_text() -> None:
    kvs = attrs([("service.name", "a"), ("x", 1), ("service.name", "b")])
    assert attribute_text(kvs, "service.name") == "b"
    assert attribute_text([kv.SerializeToString() for kv in kvs], "x") == "1"
    assert attribute_text([], "service.name") == ""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


ODD_ENCODINGS = [
    b"",  # empty KeyValue: key '' value ''
    b"\x12\x02\x0a\x00",  # value before any key
    b"\x0a\x01k\x12\x02\x0a\x00\x0a\x01j",  # key sent twice, value in between
    b"\x0a\x01k\x12\x00",  # empty AnyValue
    b"\x0a\x01k\x12\x02\x10\x05",  # bool with an unusual varint: upb decides
    b"\x0a\x01k\x12\x06\x0a\x01a\x0a\x01b",  # string sent twice
    b"\x0a\x01k\x12\x0b\x18" + b"\xff" * 9 + b"\x01",  # int -1 as ten bytes
    b"\x0a\x01k\x12\x09\x21" + struct.pack("<d", -0.0),
    b"\x0a\x01k\x12\x03\x3a\x01\x00",  # bytes
    b"\x0a\x01k\x12\x05\x40\x07\x0a\x01a",  # an unknown field (string_value_strindex) first
    b"\x0a\x01k\x1a\x02zz\x12\x02\x0a\x00",  # unknown field between key and value
    b"\x0a" + _varint(300) + b"k" * 300 + b"\x12\x05\x0a\x03abc",  # a two-byte key length
    b"\x0a\x01k\x12" + _varint(20004) + b"\x0a" + _varint(20000) + b"v" * 20000,
]


def test_bulk_parser_agrees_with_upb_on_odd_encodings() -> None:
    for raw in ODD_ENCODINGS:
        KeyValue.FromString(raw)  # valid protobuf
    keys, texts = parse_key_values(ODD_ENCODINGS)
    assert list(zip(keys.to_pylist(), texts.to_pylist(), strict=True)) == [
        parse_kv(raw) for raw in ODD_ENCODINGS
    ]


any_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=300)
    | st.floats() | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)  # fmt: skip


@given(st.lists(st.tuples(st.text(max_size=200), any_values), max_size=12))
@settings(max_examples=150, deadline=None)
def test_bulk_parser_agrees_with_upb(pairs: list[tuple[str, object]]) -> None:
    raw = [kv.SerializeToString() for kv in attrs(pairs)]
    keys, texts = parse_key_values(raw)
    expected = [parse_kv(r) for r in raw]
    assert keys.to_pylist() == [k for k, _ in expected]
    assert texts.to_pylist() == [v for _, v in expected]
    message_maps = attribute_maps([attrs(pairs)], MAP)
    assert attribute_maps([raw], MAP).equals(message_maps)
    assert message_maps.to_pylist()[0] == sorted(dict(expected).items())


def test_anyvalue_text_fast_path_does_not_hide_other_kinds() -> None:
    assert anyvalue_text(AnyValue(int_value=0)) == "0"
    assert anyvalue_text(AnyValue(double_value=0.0)) == "0"
    assert anyvalue_text(AnyValue(bool_value=False)) == "false"


def test_map_array_values_are_never_null() -> None:
    maps = attribute_maps([attrs({"a": None})], MAP)
    assert maps.to_pylist() == [[("a", "")]]
    assert pa.types.is_map(maps.type) and not maps.type.item_field.nullable
