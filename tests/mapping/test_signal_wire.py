"""Records read from their serialized bytes (``wirerows``) give the same tables as records read
as messages, for canonical and for non-canonical encodings: fields out of order, repeated
singular fields (the last wins), a record sent twice (merged), unknown fields, wrong wire types,
unpacked repeated numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.internal import encoder

from otlp2parquet.mapping import columns
from otlp2parquet.mapping.wire import protoview
from otlp2parquet.plugins import map_metrics
from support.signal_samples import decoder, full_requests, mapper

RECORDS = {
    "logs": ("resource_logs", "scope_logs", "log_records"),
    "traces": ("resource_spans", "scope_spans", "spans"),
}


def _fields(message: Any) -> list[bytes]:
    """Each set field of ``message`` serialized on its own."""
    pieces = []
    for field, _ in message.ListFields():
        single = type(message)()
        single.MergeFrom(message)
        for other, _ in message.ListFields():
            if other.name != field.name:
                single.ClearField(other.name)
        pieces.append(single.SerializeToString())
    return pieces


def _unknown() -> bytes:
    tag = encoder.TagBytes
    return tag(100, 0) + b"\x07" + tag(101, 2) + b"\x03abc" + tag(102, 5) + b"\x01\x02\x03\x04"


def _wrong_wire(message: Any) -> bytes:
    """A copy of the first numeric field, sent again with a wire type its type does not use."""
    for field, _ in message.ListFields():
        if field.type in (field.TYPE_FIXED64, field.TYPE_DOUBLE):
            return encoder.TagBytes(field.number, 0) + b"\x05"
    return b""


VARIANTS: dict[str, Callable[[Any], bytes]] = {
    "canonical": lambda r: r.SerializeToString(),
    "reversed": lambda r: b"".join(reversed(_fields(r))),
    "twice": lambda r: r.SerializeToString() + r.SerializeToString(),
    "unknown": lambda r: _unknown() + r.SerializeToString() + _unknown(),
    "wrong_wire": lambda r: r.SerializeToString() + _wrong_wire(r),
}


def _rewrite(request: Any, signal: str, variant: Callable[[Any], bytes]) -> bytes:
    """``request`` with each record (log record, span, data point) re-encoded by ``variant``."""
    view = protoview.record_view_types()[request.DESCRIPTOR.full_name]()
    view.ParseFromString(request.SerializeToString())
    for original, group in zip(_groups(request, signal), _groups(view, signal), strict=True):
        del group[:]
        group.extend(variant(record) for record in original)
    return view.SerializeToString()


def _groups(request: Any, signal: str) -> list[Any]:
    if signal in RECORDS:
        resources, scopes, records = RECORDS[signal]
        return [
            getattr(s, records) for g in getattr(request, resources) for s in getattr(g, scopes)
        ]
    return [
        getattr(metric, metric.WhichOneof("data")).data_points
        for g in request.resource_metrics
        for s in g.scope_metrics
        for metric in s.metrics
        if metric.WhichOneof("data")
    ]


def _map(signal: str, body: bytes) -> Any:
    return mapper(signal).map(decoder("protobuf").decode(body, signal))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_wire_rows_equal_messages(
    signal: str, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _rewrite(full_requests()[signal], signal, VARIANTS[variant])
    wired = _map(signal, body)
    monkeypatch.setattr(columns, "as_record_views", lambda requests: None)
    monkeypatch.setattr(map_metrics, "as_record_views", lambda requests: None)
    read = _map(signal, body)
    assert wired.tables.keys() == read.tables.keys()
    for name, table in wired.tables.items():
        assert table.num_rows
        assert table.equals(read.tables[name]), name
    assert (wired.rejected, wired.reasons) == (read.rejected, read.reasons)


def test_unpacked_histogram_buckets_read_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    request = full_requests()["metrics"]

    def unpacked(point: Any) -> bytes:
        if point.DESCRIPTOR.name != "HistogramDataPoint" or not point.bucket_counts:
            return point.SerializeToString()
        counts = list(point.bucket_counts)
        rest = type(point)()
        rest.MergeFrom(point)
        rest.ClearField("bucket_counts")
        tag = encoder.TagBytes(point.DESCRIPTOR.fields_by_name["bucket_counts"].number, 1)
        return rest.SerializeToString() + b"".join(tag + n.to_bytes(8, "little") for n in counts)

    body = _rewrite(request, "metrics", unpacked)
    wired = _map("metrics", body)
    monkeypatch.setattr(columns, "as_record_views", lambda requests: None)
    monkeypatch.setattr(map_metrics, "as_record_views", lambda requests: None)
    read = _map("metrics", body)
    for name, table in wired.tables.items():
        assert table.equals(read.tables[name]), name
