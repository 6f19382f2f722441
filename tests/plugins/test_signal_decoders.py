"""Decoders: protobuf, OTLP/JSON and JSON Lines, their leniency, and every error path (a
DecodeError saying what and where, never a traceback)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from otlp2parquet.errors import DecodeError
from otlp2parquet.plugins.decode_json import JSON_TYPES, JSONL_TYPES
from otlp2parquet.plugins.decode_json.checks import normalize_id
from otlp2parquet.plugins.decode_protobuf import MEDIA_TYPES
from support.signal_samples import decoder, example, full_logs, full_requests, mapper, otlp_json

TRACE_HEX = "5b8efff798038103d269b633813fc60c"


def logs_json(record: dict, **group: object) -> bytes:
    return json.dumps(
        {"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}], **group}]}
    ).encode()


def first_record(request: object) -> object:
    return request.resource_logs[0].scope_logs[0].log_records[0]  # type: ignore[attr-defined]


def test_media_types() -> None:
    assert MEDIA_TYPES == ("application/x-protobuf", "application/protobuf")
    assert JSON_TYPES == ("application/json",)
    assert JSONL_TYPES == ("application/x-ndjson", "application/jsonl")


# -- JSON -------------------------------------------------------------------------------------
def test_json_example_decodes() -> None:
    (request,) = decoder("json").decode(example("logs.json"), "logs")
    record = first_record(request)
    assert record.trace_id == TRACE_HEX  # normalized from upper case
    assert record.severity_number == 10
    assert record.time_unix_nano == 1544712660300000000
    assert record.body.WhichOneof("value") == "string_value"
    assert request.resource_logs[0].resource.attributes[0].key == "service.name"


@pytest.mark.parametrize("body", [b"", b"  \n", b"\xef\xbb\xbf", b"{}"])
def test_json_empty_bodies_are_empty_requests(body: bytes) -> None:
    (request,) = decoder("json").decode(body, "traces")
    assert request.resource_spans == ()


def test_json_64_bit_ints_as_strings_or_numbers() -> None:
    as_text = decoder("json").decode(logs_json({"timeUnixNano": "18446744073709551615"}), "logs")
    as_number = decoder("json").decode(logs_json({"timeUnixNano": 18446744073709551615}), "logs")
    assert first_record(as_text[0]).time_unix_nano == first_record(as_number[0]).time_unix_nano


@pytest.mark.parametrize(
    "text",
    [TRACE_HEX, TRACE_HEX.upper(), base64.b64encode(bytes.fromhex(TRACE_HEX)).decode(),
     base64.urlsafe_b64encode(bytes.fromhex(TRACE_HEX)).decode().rstrip("=")],
)  # fmt: skip
def test_json_ids_hex_or_base64(text: str) -> None:
    (request,) = decoder("json").decode(logs_json({"traceId": text}), "logs")
    assert first_record(request).trace_id == TRACE_HEX


def test_normalize_id() -> None:
    assert normalize_id("", 8) == ""
    assert normalize_id("AbCdEf1234567890", 8) == "abcdef1234567890"
    assert normalize_id("q83vEjRWeJA=", 8) == "abcdef1234567890"
    with pytest.raises(ValueError, match="is base64 of 8 bytes, not 16: length mismatch"):
        normalize_id("q83vEjRWeJA=", 16)
    with pytest.raises(ValueError, match=r"has 4 hex digits, not 16 \(8 bytes\): length mismatch"):
        normalize_id("AbCd", 8)
    with pytest.raises(ValueError, match="is base64 of 3 bytes, not 8: length mismatch"):
        normalize_id("q83v", 8)
    for text in ("ab cd", "not base64!"):
        with pytest.raises(ValueError, match="is neither hex nor base64 of 8 bytes"):
            normalize_id(text, 8)


def test_json_enum_names_or_numbers() -> None:
    body = json.dumps(
        {
            "resourceSpans": [{"scopeSpans": [{"spans": [
                {"kind": "SPAN_KIND_SERVER", "status": {"code": "STATUS_CODE_ERROR"}},
                {"kind": 3, "status": {"code": "2"}},
                {"kind": "span_kind_producer"},
            ]}]}]
        }
    ).encode()  # fmt: skip
    (request,) = decoder("json").decode(body, "traces")
    spans = request.resource_spans[0].scope_spans[0].spans
    assert [(s.kind, s.status.code) for s in spans] == [(2, 2), (3, 2), (4, 0)]
    metric = {"name": "m", "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA"}}
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}).encode()
    (request,) = decoder("json").decode(body, "metrics")
    assert request.resource_metrics[0].scope_metrics[0].metrics[0].sum.aggregation_temporality == 1
    (request,) = decoder("json").decode(
        logs_json({"severityNumber": "SEVERITY_NUMBER_WARN2"}), "logs"
    )
    assert first_record(request).severity_number == 14


def test_json_unknown_fields_ignored_missing_fields_defaulted() -> None:
    body = logs_json({"futureField": {"x": [1]}, "body": {"newKind": 1}}, extra=True)
    (request,) = decoder("json").decode(body, "logs")
    record = first_record(request)
    assert record.body.WhichOneof("value") is None
    assert (record.trace_id, record.time_unix_nano, record.attributes) == ("", 0, ())
    assert request.resource_logs[0].resource.attributes == ()
    assert request.resource_logs[0].scope_logs[0].scope.name == ""


RECORD = "$.resourceLogs[0].scopeLogs[0].logRecords[0]"
DEEP = (
    b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":'
    + b'{"arrayValue":{"values":[' * 5000
    + b"]}}" * 5000
    + b"}]}]}]}"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"resourceLogs": [] } x', "JSON is malformed: trailing characters (byte 23)"),
        (b"\xff", "not valid JSON"),
        (b"[]", "invalid OTLP/JSON: Expected `object`, got `array`"),
        (b'{"resourceLogs": {}}', "Expected `array`, got `object` - at `$.resourceLogs`"),
        (logs_json({"timeUnixNano": "soon"}), f"got `str` - at `{RECORD}.timeUnixNano`"),
        (logs_json({"timeUnixNano": -1}), f"Expected `int` >= 0 - at `{RECORD}.timeUnixNano`"),
        (logs_json({"flags": 2**32}), f"Expected `int` <= 4294967295 - at `{RECORD}.flags`"),
        (logs_json({"traceId": "xyz!"}), f"base64 of 16 bytes - at `{RECORD}.traceId`"),
        (logs_json({"spanId": 12}), f"Expected `str`, got `int` - at `{RECORD}.spanId`"),
        (
            logs_json({"severityNumber": "LOUD"}),
            f"'LOUD' is not a SeverityNumber name - at `{RECORD}.severityNumber`",
        ),
        (logs_json({"body": {"stringValue": "\udcff"}}), "not valid"),
        (logs_json({"body": {"intValue": 1.5}}), f"at `{RECORD}.body.intValue`"),
        (logs_json({}, resource=[]), "got `array` - at `$.resourceLogs[0].resource`"),
        (DEEP, "nested too deeply"),
    ],
)
def test_json_errors_say_what_and_where(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decoder("json").decode(body, "logs")
    assert message in str(caught.value)
    assert str(caught.value).startswith("logs request body is ")


def test_json_invalid_utf8_in_a_string() -> None:
    with pytest.raises(DecodeError, match="not valid UTF-8"):
        decoder("json").decode(b'{"resourceLogs":[{"schemaUrl":"a\xff"}]}', "logs")


def test_json_id_errors_in_links_and_exemplars_carry_their_path() -> None:
    span = {"links": [{}, {"spanId": "zz"}]}  # valid base64, but one byte
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{}, span]}]}]}).encode()
    with pytest.raises(DecodeError, match=r"at `\$.resourceSpans\[0\].scopeSpans\[0\].spans\[1\]"
                       r".links\[1\].spanId`"):  # fmt: skip
        decoder("json").decode(body, "traces")
    point = {"asInt": "1", "exemplars": [{"traceId": "0g"}]}
    metric = {"name": "m", "histogram": {"dataPoints": [{}]}, "gauge": {"dataPoints": [point]}}
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}).encode()
    with pytest.raises(DecodeError, match=r"exemplars\[0\].traceId`"):
        decoder("json").decode(body, "metrics")


def test_json_unknown_signal() -> None:
    with pytest.raises(DecodeError, match="no OTLP request type for signal 'profiles'"):
        decoder("json").decode(b"{}", "profiles")


# -- JSON Lines -------------------------------------------------------------------------------
def test_jsonl_one_request_per_line_blank_lines_skipped() -> None:
    line = example("logs.json").replace(b"\n", b"")
    body = b"\n" + line + b"\r\n\n   \n" + line + b"\n"
    requests = decoder("jsonl").decode(body, "logs")
    assert len(requests) == 2
    assert first_record(requests[1]).trace_id == TRACE_HEX
    assert decoder("jsonl").decode(b"", "logs") == []
    assert decoder("jsonl").decode(b"\n\n", "logs") == []


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([b"{}", b"", b"{", b"{}"], "line 3: logs request is not valid JSON: Input data was"),
        ([b"{}", logs_json({"traceId": "!"})], "line 2: logs request body is invalid OTLP/JSON: "
                                               "traceId '!' is neither hex nor base64"),
        ([b"[1]"], "line 1: logs request is invalid OTLP/JSON: Expected `object`, got `array`"),
        ([b"{}", logs_json({"flags": "x"})], "line 2: logs request is invalid OTLP/JSON: Expected"),
    ],
)  # fmt: skip
def test_jsonl_errors_carry_the_line_number(lines: list[bytes], message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decoder("jsonl").decode(b"\n".join(lines), "logs")
    assert message in str(caught.value)


# -- protobuf ---------------------------------------------------------------------------------
def test_protobuf_decodes_each_signal() -> None:
    for signal, request in full_requests().items():
        (decoded,) = decoder("protobuf").decode(request.SerializeToString(), signal)
        assert decoded == request


def test_protobuf_empty_body_is_an_empty_request() -> None:
    (request,) = decoder("protobuf").decode(b"", "metrics")
    assert len(request.resource_metrics) == 0


def _bad_utf8() -> bytes:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.add(severity_text="AB")
    return request.SerializeToString().replace(b"AB", b"\xff\xfe")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (full_logs().SerializeToString()[:200], "runs past the end"),
        (_bad_utf8(), "invalid UTF-8 in a string at byte 8, in field "
                      "resource_logs[0].scope_logs[0].log_records[0].severity_text"),
        (b"\x0f\x01", "unsupported wire type 7 at byte 1, in field resource_logs[0]"),
        (b"\x00", "field number 0"),
        (b"\x0a\x05\x12\x03\x0a", "length 5 runs past the end (3 left) at byte 2, in field "
                                  "resource_logs[0]"),
        (b"\x08\xff\xff", "truncated varint at byte 1, in field resource_logs[0]"),
        (b"\x0a\x04\x0a\x02\x0a\x05", "in field resource_logs[0].resource.attributes[0]"),
    ],
)  # fmt: skip
def test_protobuf_errors_say_what_and_where(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decoder("protobuf").decode(body, "logs")
    text = str(caught.value)
    assert text.startswith("invalid protobuf ExportLogsServiceRequest: ")
    assert message in text


def test_protobuf_nesting_beyond_the_parser_limit() -> None:
    nested = b"\x0a\x00"  # AnyValue{string_value: ""}
    for _ in range(60):  # AnyValue{array_value: ArrayValue{values: [nested]}}
        inner = b"\x0a" + _varint(len(nested)) + nested
        nested = b"\x2a" + _varint(len(inner)) + inner
    body = nested
    for field in (b"\x2a", b"\x12", b"\x12"):  # body, log_records, scope_logs
        body = field + _varint(len(body)) + body
    body = b"\x0a" + _varint(len(body)) + body
    with pytest.raises(DecodeError, match="messages nested deeper than 100 levels") as caught:
        decoder("protobuf").decode(body, "logs")
    assert " ... " in str(caught.value)  # the long field path is shortened


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_protobuf_unknown_signal() -> None:
    with pytest.raises(DecodeError, match="no OTLP request type for signal 'x'"):
        decoder("protobuf").decode(b"", "x")


@given(st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_random_bytes_decode_or_fail_cleanly(body: bytes) -> None:
    for name in ("protobuf", "json", "jsonl"):
        try:
            requests = decoder(name).decode(body, "logs")
        except DecodeError:
            continue
        mapper("logs").map(requests)


@given(st.integers(0, len(otlp_json(full_logs())) - 1), st.binary(min_size=1, max_size=3))
@settings(max_examples=100, deadline=None)
def test_corrupted_json_decodes_or_fails_cleanly(position: int, junk: bytes) -> None:
    body = otlp_json(full_logs())
    body = body[:position] + junk + body[position + len(junk) :]
    try:
        requests = decoder("json").decode(body, "logs")
    except DecodeError:
        return
    mapper("logs").map(requests)


@given(st.integers(0, len(full_logs().SerializeToString()) - 1), st.binary(min_size=1, max_size=3))
@settings(max_examples=100, deadline=None)
def test_corrupted_protobuf_decodes_or_fails_cleanly(position: int, junk: bytes) -> None:
    body = full_logs().SerializeToString()
    body = body[:position] + junk + body[position + len(junk) :]
    try:
        requests = decoder("protobuf").decode(body, "logs")
    except DecodeError:
        return
    mapper("logs").map(requests)
