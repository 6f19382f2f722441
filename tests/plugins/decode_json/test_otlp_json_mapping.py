"""OTLP/JSON read as the proto3 JSON mapping and the Collector's pdata read it: proto field names
in any mix with lowerCamelCase, IDs of exactly their size, enums as names or numbers, 64-bit
integers as numbers or strings within uint64, nulls as defaults. Each rule is a golden case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format

from otlp2parquet.errors import DecodeError
from support.signal_samples import REQUEST_TYPES, decoder, example, mapper

SIGNALS = {"logs": "logs.json", "traces": "trace.json", "metrics": "metrics.json"}
TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"
SPAN_AT = "$.resourceSpans[0].scopeSpans[0].spans[0]"
RECORD_AT = "$.resourceLogs[0].scopeLogs[0].logRecords[0]"


def rows(signal: str, body: bytes) -> dict[str, list[Any]]:
    """Every mapped table of ``body`` as Python lists, for comparing two spellings."""
    (request,) = decoder("json").decode(body, signal)
    return {
        table: batch.to_pylist() for table, batch in mapper(signal).map([request]).tables.items()
    }


def proto_names(signal: str, camel: bytes) -> bytes:
    """The same request as protobuf's JSON printer writes it with proto field names."""
    message = json_format.Parse(camel, REQUEST_TYPES[signal]())
    tree = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return json.dumps(tree).encode()


def alternate(node: Any, depth: int = 0) -> Any:
    """Proto names at even depths, lowerCamelCase at odd ones."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if depth % 2 == 0:
                head, *rest = key.split("_")
                key = head + "".join(part.title() for part in rest)
            out[key] = alternate(value, depth + 1)
        return out
    if isinstance(node, list):
        return [alternate(v, depth) for v in node]
    return node


def spans(span: dict[str, Any]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


def logs(record: dict[str, Any]) -> bytes:
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}).encode()


def first_span(body: bytes) -> Any:
    (request,) = decoder("json").decode(body, "traces")
    return request.resource_spans[0].scope_spans[0].spans[0]


def error_of(body: bytes, signal: str) -> str:
    with pytest.raises(DecodeError) as caught:
        decoder("json").decode(body, signal)
    return str(caught.value)


# -- field names --------------------------------------------------------------------------------
@pytest.mark.parametrize("signal", SIGNALS)
def test_proto_field_names_read_as_lower_camel_case(signal: str) -> None:
    camel = example(SIGNALS[signal])
    snake = proto_names(signal, camel)
    assert b"_unix_nano" in snake and b"UnixNano" not in snake
    expected = rows(signal, camel)
    assert sum(len(r) for r in expected.values()) > 0
    assert rows(signal, snake) == expected


@pytest.mark.parametrize("signal", SIGNALS)
def test_field_names_in_any_mix(signal: str) -> None:
    camel = example(SIGNALS[signal])
    mixed = json.dumps(alternate(json.loads(proto_names(signal, camel)))).encode()
    assert b"_unix_nano" in mixed or b"_records" in mixed or b"_points" in mixed
    assert rows(signal, mixed) == rows(signal, camel)


def test_proto_names_in_the_jsonl_decoder_too() -> None:
    line = proto_names("logs", example("logs.json"))
    (request, again) = decoder("jsonl").decode(line + b"\n" + line, "logs")
    assert request == again
    assert request.resource_logs[0].scope_logs[0].log_records[0].time_unix_nano > 0


def test_a_field_given_twice_keeps_the_last() -> None:
    body = b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a","name":"b"}]}]}]}'
    assert first_span(body).name == "b"
    body = b'{"resourceSpans":[{"scope_spans":[{"spans":[{"name":"a","name":"b"}]}]}]}'
    assert first_span(body).name == "b"


def test_unknown_fields_and_nulls_are_ignored() -> None:
    span = {"name": "s", "futureField": [1, {"x": 2}], "trace_state": None, "status": None}
    got = first_span(spans(span))
    assert (got.name, got.trace_state, got.status.code) == ("s", "", 0)
    body = b'{"resourceLogs":[{"resource":null,"scopeLogs":[{"logRecords":[{"body":null}]}]}]}'
    (request,) = decoder("json").decode(body, "logs")
    assert request.resource_logs[0].resource.attributes == ()


# -- IDs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("span", "message"),
    [
        ({"traceId": TRACE[:30]}, f"traceId '{TRACE[:30]}' has 30 hex digits, not 32 (16 bytes): "
                                  f"length mismatch - at `{SPAN_AT}.traceId`"),
        ({"traceId": TRACE + "00"}, "has 34 hex digits, not 32 (16 bytes): length mismatch"),
        ({"spanId": SPAN[:14]}, f"spanId '{SPAN[:14]}' has 14 hex digits, not 16 (8 bytes): "
                                f"length mismatch - at `{SPAN_AT}.spanId`"),
        ({"span_id": TRACE}, f"has 32 hex digits, not 16 (8 bytes): length mismatch - at "
                             f"`{SPAN_AT}.spanId`"),
        ({"parentSpanId": SPAN + "a"}, f"parentSpanId '{SPAN}a' has 17 hex digits, not 16 (8 "
                                       f"bytes): length mismatch - at `{SPAN_AT}.parentSpanId`"),
        ({"parent_span_id": "!!"}, f"is neither hex nor base64 of 8 bytes - at "
                                   f"`{SPAN_AT}.parentSpanId`"),
        ({"parent_span_id": "--"}, "is base64 of 1 byte, not 8: length mismatch"),
        ({"links": [{}, {"traceId": SPAN}]}, f"length mismatch - at `{SPAN_AT}.links[1].traceId`"),
    ],
)  # fmt: skip
def test_ids_of_the_wrong_length_are_errors_naming_field_and_position(
    span: dict[str, Any], message: str
) -> None:
    text = error_of(spans(span), "traces")
    assert text.startswith("traces request body is invalid OTLP/JSON: ")
    assert message in text


def test_log_and_exemplar_ids_are_checked_too() -> None:
    text = error_of(logs({"traceId": SPAN}), "logs")
    assert f"length mismatch - at `{RECORD_AT}.traceId`" in text
    text = error_of(logs({"spanId": TRACE}), "logs")
    assert f"length mismatch - at `{RECORD_AT}.spanId`" in text
    point = {"asDouble": 1, "exemplars": [{"spanId": "abcd"}]}
    metric = {"name": "m", "gauge": {"dataPoints": [point]}}
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}).encode()
    assert "gauge.dataPoints[0].exemplars[0].spanId`" in error_of(body, "metrics")


def test_empty_ids_and_ids_of_the_right_size() -> None:
    got = first_span(spans({"traceId": "", "spanId": "", "parentSpanId": ""}))
    assert (got.trace_id, got.span_id, got.parent_span_id) == ("", "", "")
    got = first_span(spans({"trace_id": TRACE.upper(), "spanId": SPAN, "parentSpanId": SPAN}))
    assert (got.trace_id, got.span_id, got.parent_span_id) == (TRACE, SPAN, SPAN)


# -- enums ----------------------------------------------------------------------------------------
def test_enums_as_names_or_numbers() -> None:
    by_name = first_span(spans({"kind": "SPAN_KIND_CLIENT", "status": {"code": "STATUS_CODE_OK"}}))
    by_number = first_span(spans({"kind": 3, "status": {"code": 1}}))
    unknown_number = first_span(spans({"kind": 9}))  # open enums: kept
    assert (by_name.kind, by_name.status.code) == (by_number.kind, by_number.status.code) == (3, 1)
    assert unknown_number.kind == 9
    metric = {"name": "m", "sum": {"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}}
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}).encode()
    (request,) = decoder("json").decode(body, "metrics")
    assert request.resource_metrics[0].scope_metrics[0].metrics[0].sum.aggregation_temporality == 1


@pytest.mark.parametrize(
    ("body", "signal", "message"),
    [
        (spans({"kind": "CLIENT"}), "traces",
         f"'CLIENT' is not a Span.SpanKind name - at `{SPAN_AT}.kind`; use a number or one of "
         "SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, "
         "SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER"),
        (spans({"status": {"code": "FINE"}}), "traces",
         f"'FINE' is not a Status.StatusCode name - at `{SPAN_AT}.status.code`; use a number or "
         "one of STATUS_CODE_UNSET, STATUS_CODE_OK, STATUS_CODE_ERROR"),
        (logs({"severity_number": "LOUD"}), "logs",
         f"'LOUD' is not a SeverityNumber name - at `{RECORD_AT}.severityNumber`; use a number "
         "or one of SEVERITY_NUMBER_UNSPECIFIED, SEVERITY_NUMBER_TRACE, SEVERITY_NUMBER_TRACE2"),
    ],
)  # fmt: skip
def test_an_unknown_enum_name_says_which_enum_and_its_names(
    body: bytes, signal: str, message: str
) -> None:
    assert message in error_of(body, signal)


# -- 64-bit integers ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [18446744073709551615, "18446744073709551615"])
def test_uint64_at_its_maximum_as_number_or_string(value: int | str) -> None:
    assert first_span(spans({"endTimeUnixNano": value})).end_time_unix_nano == 2**64 - 1


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2**64, "18446744073709551616"), (str(2**70), str(2**70))],
)  # fmt: skip
def test_timestamps_beyond_uint64_are_errors(value: object, shown: str) -> None:
    text = error_of(spans({"start_time_unix_nano": value}), "traces")
    assert (
        f"startTimeUnixNano {shown} is beyond 2^64-1 nanoseconds (uint64) - at "
        f"`{SPAN_AT}.startTimeUnixNano`"
    ) in text
    text = error_of(logs({"observedTimeUnixNano": value}), "logs")
    assert f"at `{RECORD_AT}.observedTimeUnixNano`" in text


def test_counts_and_bucket_counts_beyond_uint64_are_errors() -> None:
    def metrics(point: dict[str, Any], kind: str = "histogram") -> bytes:
        metric = {"name": "m", kind: {"dataPoints": [point]}}
        return json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}).encode()

    at = "$.resourceMetrics[0].scopeMetrics[0].metrics[0]"
    text = error_of(metrics({"count": str(2**64)}), "metrics")
    assert f"count 18446744073709551616 is beyond 2^64-1 (uint64) - at `{at}.histogram" in text
    text = error_of(metrics({"bucketCounts": [1, 2**64]}), "metrics")
    assert f"at `{at}.histogram.dataPoints[0].bucketCounts`" in text
    point = {"positive": {"bucketCounts": ["1", str(2**64)]}}
    text = error_of(metrics(point, "exponential_histogram"), "metrics")
    assert f"at `{at}.exponentialHistogram.dataPoints[0].positive.bucketCounts`" in text


@pytest.mark.parametrize("value", [9223372036854775807, "9223372036854775807", "-5", -5])
def test_int64_values_as_numbers_or_strings(value: int | str) -> None:
    body = logs({"body": {"intValue": value}})
    (request,) = decoder("json").decode(body, "logs")
    got = request.resource_logs[0].scope_logs[0].log_records[0].body.int_value
    assert got == int(value)
