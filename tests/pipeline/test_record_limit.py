"""``request.max_records``: a request of more records (log records, spans, metric data points)
is refused with 413 naming the cap, for every encoding and both table engines; protobuf bodies
are counted before their records are parsed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otlp2parquet.assembly import Runtime, bootstrap
from otlp2parquet.errors import PayloadTooLarge
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.pipeline.limits import count_records
from support.signal_samples import decoder, full_requests, mapper, otlp_json
from support.wire_support import logs_request

SIGNALS = ("logs", "traces", "metrics")
MEDIA = {"protobuf": "application/x-protobuf", "json": "application/json"}


def body(signal: str, encoding: str) -> bytes:
    request = full_requests()[signal]
    return request.SerializeToString() if encoding == "protobuf" else otlp_json(request)


def rows(signal: str) -> int:
    """The records of the sample request, counted as the rows it maps to and the rejected ones
    (a metric without data points is rejected too, but holds no record)."""
    mapped = mapper(signal).map([full_requests()[signal]])
    pointless = sum("has no data" in reason for reason in mapped.reasons)
    return sum(table.num_rows for table in mapped.tables.values()) + mapped.rejected - pointless


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_records_are_counted_as_the_rows_they_become(signal: str, encoding: str) -> None:
    data = body(signal, encoding)
    expected = rows(signal)
    assert expected >= 3
    assert count_records(signal, decoder(encoding).decode(data, signal)) == expected
    if encoding == "protobuf":  # the count before parsing agrees
        assert decoder("protobuf").count_records(data, signal) == expected


@pytest.mark.parametrize("engine", ["pyarrow", "lite"])
@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_one_record_over_the_cap_is_a_413_and_the_cap_itself_is_accepted(
    make_runtime: Callable[..., Runtime], engine: str, signal: str, encoding: str
) -> None:
    def make_pipeline(**settings: Any) -> Any:
        runtime = make_runtime(storage__backend="memory", **settings)
        return runtime.new_pipeline(engine)

    count = rows(signal)
    data = body(signal, encoding)
    over = make_pipeline(request__max_records=count - 1)
    with pytest.raises(PayloadTooLarge) as refused:
        over.ingest(signal, data, MEDIA[encoding])
    assert str(refused.value) == (
        f"request holds {count} records, more than the limit of {count - 1} (request.max_records)"
    )
    at_cap = make_pipeline(request__max_records=count)
    result: Any = at_cap.ingest(signal, data, MEDIA[encoding])
    assert result.accepted == sum(
        t.num_rows for t in mapper(signal).map([full_requests()[signal]]).tables.values()
    )


def test_json_lines_count_every_line(make_pipeline: Callable[..., Pipeline]) -> None:
    line = otlp_json(full_requests()["logs"])
    lines = b"\n".join([line] * 3)
    pipeline = make_pipeline(request__max_records=3 * rows("logs") - 1)
    with pytest.raises(PayloadTooLarge, match=f"holds {3 * rows('logs')} records"):
        pipeline.ingest("logs", lines, "application/x-ndjson")


def test_protobuf_records_are_not_parsed_before_the_count(
    make_pipeline: Callable[..., Pipeline],
) -> None:
    """Records with invalid UTF-8 would be a 400 once parsed; over the cap, the 413 comes
    first, so the records were never parsed."""
    bad = b"\x1a\x02\xff\xfe"  # LogRecord.severity_text, not UTF-8
    data = logs_request([bad] * 20)
    with pytest.raises(PayloadTooLarge, match="holds 20 records"):
        make_pipeline(request__max_records=10).ingest("logs", data, MEDIA["protobuf"])


def test_the_cap_comes_from_the_environment(make_runtime: Callable[..., Any]) -> None:
    runtime = bootstrap(None, None, env={"OTLP2PARQUET_MAX_RECORDS": "7"}, cwd=None)
    assert runtime.config.get("request.max_records") == 7
    assert make_runtime().config.get("request.max_records") == 100_000
