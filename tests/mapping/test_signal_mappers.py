"""Schema mappers: golden values of the reference examples, identical tables from every
encoding, value rules on edge cases, rejected records."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from otlp2parquet.schema.tables import load_table_schema
from otlp2parquet.types import MappedBatch
from support.signal_samples import (
    T0,
    decoder,
    example,
    example_protobuf,
    full_requests,
    mapper,
    otlp_json,
    protobuf_json,
)

UTC = dt.UTC
EXAMPLES = [
    ("logs.json", "logs"),
    ("events.json", "logs"),
    ("trace.json", "traces"),
    ("metrics.json", "metrics"),
]


def mapped_json(name: str, signal: str) -> MappedBatch:
    return mapper(signal).map(decoder("json").decode(example(name), signal))


def row(batch: MappedBatch, table: str) -> dict:
    (only,) = batch.tables[table].to_pylist()
    return only


@pytest.mark.parametrize(("name", "signal"), EXAMPLES)
def test_examples_are_identical_from_json_and_protobuf(name: str, signal: str) -> None:
    from_json = mapped_json(name, signal)
    body = example_protobuf(name, signal).SerializeToString()
    from_protobuf = mapper(signal).map(decoder("protobuf").decode(body, signal))
    assert from_json.tables.keys() == from_protobuf.tables.keys()
    for table in from_json.tables:
        assert from_json.tables[table].equals(from_protobuf.tables[table])
        assert from_json.tables[table].schema == load_table_schema(table).arrow_schema
    assert (from_json.rejected, from_protobuf.rejected) == (0, 0)


def test_logs_example_golden_values() -> None:
    got = row(mapped_json("logs.json", "logs"), "logs")
    assert got == {
        "Timestamp": dt.datetime(2018, 12, 13, 14, 51, 0, 300000, tzinfo=UTC),
        "TraceId": "5b8efff798038103d269b633813fc60c",
        "SpanId": "eee19b7ec3c1b174",
        "TraceFlags": 0,
        "SeverityText": "Information",
        "SeverityNumber": 10,
        "ServiceName": "my.service",
        "Body": "Example log record",
        "ResourceSchemaUrl": "",
        "ResourceAttributes": [("service.name", "my.service")],
        "ScopeSchemaUrl": "",
        "ScopeName": "my.library",
        "ScopeVersion": "1.0.0",
        "ScopeAttributes": [("my.scope.attribute", "some scope attribute")],
        "LogAttributes": [
            ("array.attribute", '["many","values"]'),
            ("boolean.attribute", "true"),
            ("double.attribute", "637.704"),
            ("int.attribute", "10"),
            ("map.attribute", '{"some.map.key":"some value"}'),
            ("string.attribute", "some string"),
        ],
        "EventName": "",
    }


def test_events_example_golden_values() -> None:
    got = row(mapped_json("events.json", "logs"), "logs")
    assert got["EventName"] == "browser.page_view"
    assert got["Body"] == (
        '{"referrer":"https://wwww.google.com","title":"Free Online GUID Generator","type":0,'
        '"url":"https://www.guidgenerator.com/online-guid-generator.aspx"}'
    )
    assert (got["TraceId"], got["SpanId"], got["SeverityNumber"]) == ("", "", 9)


def test_trace_example_golden_values() -> None:
    got = row(mapped_json("trace.json", "traces"), "traces")
    assert got["SpanKind"] == "Server"
    assert got["StatusCode"] == "Unset"
    assert got["Duration"] == 1_000_000_000
    assert got["ParentSpanId"] == "eee19b7ec3c1b173"
    assert got["TraceId"] == "5b8efff798038103d269b633813fc60c"
    assert got["Timestamp"] == dt.datetime(2018, 12, 13, 14, 51, 0, tzinfo=UTC)
    assert got["SpanAttributes"] == [("my.span.attr", "some value")]
    for column in ("Events.Timestamp", "Events.Name", "Events.Attributes", "Links.TraceId",
                   "Links.SpanId", "Links.TraceState", "Links.Attributes"):  # fmt: skip
        assert got[column] == []


def test_metrics_example_golden_values() -> None:
    batch = mapped_json("metrics.json", "metrics")
    assert {name: t.num_rows for name, t in batch.tables.items()} == {
        "metrics_gauge": 1, "metrics_sum": 1, "metrics_histogram": 1,
        "metrics_exponential_histogram": 1,
    }  # fmt: skip
    when = dt.datetime(2018, 12, 13, 14, 51, 0, 300000, tzinfo=UTC)
    total = row(batch, "metrics_sum")
    assert (total["MetricName"], total["Value"], total["AggregationTemporality"]) == (
        "my.counter", 5.0, 1,
    )  # fmt: skip
    assert total["IsMonotonic"] is True and total["StartTimeUnix"] == when
    assert total["Attributes"] == [("my.counter.attr", "some value")]
    gauge = row(batch, "metrics_gauge")
    assert (gauge["Value"], gauge["MetricDescription"], gauge["MetricUnit"]) == (
        10.0, "I am a Gauge", "1",
    )  # fmt: skip
    assert gauge["StartTimeUnix"] == dt.datetime(1970, 1, 1, tzinfo=UTC)  # absent: epoch
    assert gauge["TimeUnix"] == when
    histogram = row(batch, "metrics_histogram")
    assert (histogram["Count"], histogram["Sum"], histogram["Min"], histogram["Max"]) == (
        2, 2.0, 0.0, 2.0,
    )  # fmt: skip
    assert (histogram["BucketCounts"], histogram["ExplicitBounds"]) == ([1, 1], [1.0])
    exponential = row(batch, "metrics_exponential_histogram")
    assert (exponential["Count"], exponential["Sum"], exponential["Scale"]) == (3, 10.0, 0)
    assert (exponential["ZeroCount"], exponential["PositiveOffset"]) == (1, 1)
    assert exponential["PositiveBucketCounts"] == [0, 2]
    assert (exponential["NegativeOffset"], exponential["NegativeBucketCounts"]) == (0, [])
    assert (exponential["Min"], exponential["Max"]) == (0.0, 5.0)
    for table in batch.tables.values():
        assert table.column("ServiceName").to_pylist() == ["my.service"]
        assert table.column("ScopeAttributes").to_pylist() == [
            [("my.scope.attribute", "some scope attribute")]
        ]


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_every_encoding_gives_identical_tables(signal: str) -> None:
    request = full_requests()[signal]
    reference = mapper(signal).map([request])
    encodings = {
        "protobuf": decoder("protobuf").decode(request.SerializeToString(), signal),
        "otlp json": decoder("json").decode(otlp_json(request), signal),
        "otlp json, upper-case ids": decoder("json").decode(otlp_json(request, upper=True), signal),
        "protobuf json": decoder("json").decode(protobuf_json(request), signal),
        "json lines": decoder("jsonl").decode(
            otlp_json(request) + b"\n" + protobuf_json(request), signal
        ),
    }
    for name, requests in encodings.items():
        batch = mapper(signal).map(requests)
        assert batch.tables.keys() == reference.tables.keys(), name
        copies = len(requests)
        for table, expected in reference.tables.items():
            got = batch.tables[table]
            assert got.schema == load_table_schema(table).arrow_schema
            assert got.equals(pa.concat_tables([expected] * copies)), (name, table)
        assert (batch.rejected, batch.reasons) == (
            reference.rejected * copies, reference.reasons,
        ), name  # fmt: skip


def test_logs_value_rules() -> None:
    rows = mapper("logs").map([full_requests()["logs"]]).tables["logs"].to_pylist()
    first, second, third, fourth, last = rows
    assert first["TraceFlags"] == 0xFF  # flags & 0xFF
    assert first["EventName"] == "my.event"
    assert first["Timestamp"] == dt.datetime.fromtimestamp(T0 // 1000 / 1e6, UTC)
    assert second["Timestamp"] == dt.datetime.fromtimestamp((T0 + 7) // 1000 / 1e6, UTC)
    assert (third["TraceId"], third["SpanId"]) == ("", "")  # all-zero IDs
    assert second["Body"] == '{"type":0,"url":"u"}'
    assert (third["Body"], fourth["Body"], fourth["SeverityNumber"]) == ('[1,"a"]', "2.5", 24)
    attributes = dict(first["LogAttributes"])
    assert list(attributes) == sorted(attributes)
    assert attributes["a.bool"] == "sent twice"  # the last of a repeated key
    assert attributes["d.whole"] == "5" and attributes["d.huge"] == "1e+21"
    assert attributes["e.bytes"] == "AAH+" and attributes["h.empty"] == ""
    assert attributes["f.array"] == '["many",1,2.5,true,"AQ==",null,{"k":"v"}]'
    assert attributes["g.kvlist"] == '{"a":[1,"x"],"b":1,"c":null}'
    assert attributes["k.longer"] == "y" * 20000
    assert last["ServiceName"] == "" and last["ResourceAttributes"] == []
    assert first["ResourceAttributes"] == [
        ("host.name", "h1"), ("pid", "4242"), ("service.name", "checkout"),
    ]  # fmt: skip


def test_traces_value_rules() -> None:
    rows = mapper("traces").map([full_requests()["traces"]]).tables["traces"].to_pylist()
    assert [r["SpanKind"] for r in rows] == [
        "Unspecified", "Internal", "Server", "Client", "Producer", "Consumer", "Unspecified",
    ]  # fmt: skip
    assert [r["StatusCode"] for r in rows] == ["Unset", "Ok", "Error"] * 2 + ["Unset"]
    assert [r["Duration"] for r in rows] == [0, 1000, 0, 3000, 4000, 5000, 0]
    assert (rows[0]["ParentSpanId"], rows[1]["ParentSpanId"]) == ("", "eee19b7ec3c1b174")
    events = rows[3]
    assert events["Events.Name"] == ["exception", "bare"]
    assert events["Events.Timestamp"][1] == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert dict(events["Events.Attributes"][0])["d.tiny"] == "1e-7"
    assert events["Events.Attributes"][1] == []
    links = rows[4]
    assert links["Links.TraceId"] == ["5b8efff798038103d269b633813fc60c", ""]
    assert links["Links.SpanId"] == ["eee19b7ec3c1b174", ""]
    assert links["Links.TraceState"] == ["a=b", ""]
    assert links["Links.Attributes"] == [[("l", "1")], []]
    for r in rows:  # every list in a Nested group has the same length on a row
        assert len(r["Events.Timestamp"]) == len(r["Events.Name"]) == len(r["Events.Attributes"])
        assert len(r["Links.TraceId"]) == len(r["Links.SpanId"]) == len(r["Links.Attributes"])


def test_metrics_value_rules_and_rejects() -> None:
    batch = mapper("metrics").map([full_requests()["metrics"]])
    assert batch.rejected == 3
    assert batch.reasons == [
        "metric 'g' (gauge) has data points with no value",
        "metric 'nodata' has no data",
        "metric 'nopoints' (gauge) has no data points",
    ]
    gauge = batch.tables["metrics_gauge"].to_pylist()
    assert [g["Value"] for g in gauge] == [1.25, -3.0, 2.0]
    assert [g["ServiceName"] for g in gauge] == ["checkout", "checkout", ""]
    exemplars = gauge[1]
    assert exemplars["Exemplars.Value"] == [1.5, 7.0, 0.0]
    assert exemplars["Exemplars.TraceId"] == [
        "5b8efff798038103d269b633813fc60c", "0" * 32, "0" * 32,
    ]  # fmt: skip
    assert exemplars["Exemplars.SpanId"] == ["eee19b7ec3c1b174", "0" * 16, "0" * 16]
    assert exemplars["Exemplars.FilteredAttributes"][0] == [("a", "2"), ("user", "u1")]
    assert gauge[0]["ScopeDroppedAttrCount"] == 3
    total = batch.tables["metrics_sum"].to_pylist()[0]
    assert (total["AggregationTemporality"], total["IsMonotonic"], total["Value"]) == (2, True, 10)
    histogram = batch.tables["metrics_histogram"].to_pylist()
    assert [(h["Sum"], h["Min"], h["Max"]) for h in histogram] == [
        (6.5, 0.5, 4.0), (None, None, None), (0.0, None, None),
    ]  # fmt: skip
    assert histogram[2]["Count"] == 2**63 - 1  # UInt64 beyond int64: clamped
    exponential = batch.tables["metrics_exponential_histogram"].to_pylist()
    assert (exponential[0]["Scale"], exponential[0]["PositiveOffset"]) == (-2, 3)
    assert (exponential[0]["Sum"], exponential[0]["Min"], exponential[0]["Max"]) == (12, -1, None)
    assert (exponential[1]["PositiveBucketCounts"], exponential[1]["NegativeOffset"]) == ([], 0)
    summary = batch.tables["metrics_summary"].to_pylist()
    assert summary[0]["ValueAtQuantiles.Quantile"] == [0.0, 0.5, 1.0]
    assert summary[0]["ValueAtQuantiles.Value"] == [0.0, 5.0, 10.0]
    assert summary[1]["ValueAtQuantiles.Value"] == [] and summary[1]["Sum"] == 0.0


def test_empty_requests_map_to_no_tables() -> None:
    for signal in ("logs", "traces", "metrics"):
        for requests in ([], decoder("json").decode(b"{}", signal)):
            batch = mapper(signal).map(requests)
            assert (batch.tables, batch.rejected, batch.rows) == ({}, 0, 0)


def test_only_rejected_metrics() -> None:
    body = (
        b'{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"a","gauge":{"dataPoints":'
        b'[{},{}]}},{"name":"b","sum":{}},{"name":"c"}]}]}]}'
    )
    batch = mapper("metrics").map(decoder("json").decode(body, "metrics"))
    assert batch.tables == {}
    assert batch.rejected == 4
    assert len(batch.reasons) == 3


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_protobuf_and_json_requests_mixed_in_one_call(signal: str) -> None:
    request = full_requests()[signal]
    (from_json,) = decoder("json").decode(otlp_json(request), signal)
    twice = mapper(signal).map([request, request])
    for mixed in ([request, from_json], [from_json, request]):
        batch = mapper(signal).map(mixed)
        for name, table in twice.tables.items():
            assert batch.tables[name].equals(table)
