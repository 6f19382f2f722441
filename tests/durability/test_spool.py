"""The durable spool: segment format and damage, accounting and cleanup, and replay after a
crash at every step of a flush (before the upload, after it, after the catalog) without losing
or duplicating an acknowledged record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otlp2parquet.durability.segment import (
    DataRecord,
    DoneRecord,
    IntentRecord,
    SegmentScan,
    encode,
    iter_records,
    read_segment,
)
from otlp2parquet.durability.spool import Spool
from otlp2parquet.errors import ConfigError, SpoolFull, StorageError
from otlp2parquet.http.otlp import OtlpHttp
from otlp2parquet.types import Partition
from support.spool_support import PROTOBUF, build, crash, expect_once, landed, logs_body, segments


def ingest(pipeline, ids, service: str = "checkout", hour: int = 0) -> None:
    pipeline.ingest("logs", logs_body(ids, service, hour), PROTOBUF)


# -- format -----------------------------------------------------------------------------------
def test_records_round_trip_and_damage_is_found(tmp_path: Path) -> None:
    records = [
        DataRecord((7 << 64) | 1, "logs", PROTOBUF, b"\x00body"),
        IntentRecord("ab" * 16, "logs/x/1-ab.parquet", ("logs", "svc/é", 3600), (5, 9, 2**100)),
        DoneRecord("cd" * 16),
    ]
    path = tmp_path / "00000000000000000001.seg"
    data = b"O2PSPL1\n" + b"".join(encode(r) for r in records)
    path.write_bytes(data)
    scan = read_segment(path, 1)
    assert scan.records == records and not scan.problem and scan.good_bytes == len(data)
    for damaged, problem in (
        (data[:-3], "truncated record"),
        (data[:-20] + b"\xff" + data[-19:], "checksum mismatch"),
        (data + b"\x00\x00", "truncated record header"),
        (b"garbage", "header"),
    ):
        scan = SegmentScan(1, path, len(damaged))
        good = list(iter_records(damaged, scan))
        assert problem in scan.problem
        assert good == records[: len(good)]


def test_token_is_a_function_of_partition_and_sources() -> None:
    a = Partition("logs", "svc", 0)
    assert Spool.token(a, (3, 1, 2)) == Spool.token(a, (1, 2, 3))
    assert Spool.token(a, (1, 2)) != Spool.token(a, (1, 2, 3))
    assert Spool.token(a, (1,)) != Spool.token(Partition("logs", "svc", 3600), (1,))
    assert len(Spool.token(a, (1,))) == 32


# -- accounting -------------------------------------------------------------------------------
def test_segments_go_once_every_file_of_them_is_written(tmp_path: Path) -> None:
    pipeline = build(tmp_path, durability__segment_bytes=4096)
    for i in range(30):  # several segments
        ingest(pipeline, range(i * 10, i * 10 + 10), service=f"svc{i % 3}", hour=i % 2)
    assert len(segments(pipeline)) > 2
    stats = pipeline.spool.stats()
    assert stats["pending_requests"] == 30 and stats["bytes"] > 0
    pipeline.flush()
    assert segments(pipeline) == [] and pipeline.spool.stats()["bytes"] == 0
    pipeline.close()
    expect_once(tmp_path / "lake", range(300))


def test_second_process_on_the_same_spool_is_refused(tmp_path: Path) -> None:
    first = build(tmp_path)
    with pytest.raises(ConfigError, match="in use by another otlp2parquet process"):
        build(tmp_path, durability__enabled=True)
    first.close()


def test_unusable_default_location_runs_without_spool(tmp_path: Path, caplog) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / ".spool").write_text("a file where the spool directory must go")
    with caplog.at_level(logging.WARNING):
        pipeline = build(tmp_path)
    assert pipeline.spool is None and "without a durable spool" in caplog.text
    with pytest.raises(ConfigError, match=r"durability\.spool_dir"):
        build(tmp_path, durability__spool_dir=str(lake / ".spool"))


# -- replay -----------------------------------------------------------------------------------
def test_crash_with_everything_buffered(tmp_path: Path) -> None:
    pipeline = build(tmp_path)
    for i in range(5):
        ingest(pipeline, range(i * 4, i * 4 + 4), service=f"svc{i % 2}")
    crash(pipeline)
    assert landed(tmp_path / "lake") == {}
    again = build(tmp_path)
    assert again.batcher.buffered_rows == 20
    again.close()
    expect_once(tmp_path / "lake", range(20))
    assert segments(again) == []


def test_crash_after_upload_before_cleanup_rewrites_the_same_files(tmp_path: Path) -> None:
    pipeline = build(tmp_path)
    ingest(pipeline, range(0, 5), "a")
    ingest(pipeline, range(5, 10), "b", hour=1)
    pipeline.spool.complete = lambda keys: None  # the process dies before the spool hears
    pipeline.flush()
    ingest(pipeline, range(10, 15), "a")  # buffered, not written
    keys = sorted(p.relative_to(tmp_path / "lake") for p in (tmp_path / "lake").rglob("*.parquet"))
    assert len(keys) == 2
    crash(pipeline)
    again = build(tmp_path)
    again.close()
    expect_once(tmp_path / "lake", range(15))
    after = sorted(p.relative_to(tmp_path / "lake") for p in (tmp_path / "lake").rglob("*.parquet"))
    assert set(keys) <= set(after) and len(after) == 3  # the same two keys, rewritten; one new
    assert segments(again) == []


def test_crash_after_a_failed_upload(tmp_path: Path) -> None:
    pipeline = build(tmp_path)
    ingest(pipeline, range(8), "a")
    (tmp_path / "lake" / "logs").write_text("blocks the logs directory")
    with pytest.raises(StorageError):
        pipeline.flush()
    ingest(pipeline, range(8, 12), "a")
    crash(pipeline)
    (tmp_path / "lake" / "logs").unlink()
    again = build(tmp_path)
    again.close()
    expect_once(tmp_path / "lake", range(12))


def test_crash_after_the_catalog_but_before_done(tmp_path: Path) -> None:
    """Files written and DONE for one partition, not for another: only the latter is redone."""
    pipeline = build(tmp_path)
    ingest(pipeline, range(4), "a")
    pipeline.flush()  # a: written and finished; its segment is gone
    ingest(pipeline, range(4, 8), "b")
    ingest(pipeline, range(8, 12), "a")
    original = pipeline.spool.complete
    pipeline.spool.complete = lambda keys: original([k for k in keys if "/a/" in k])
    pipeline.flush()
    crash(pipeline)
    again = build(tmp_path)
    assert again.batcher.buffered_rows == 4  # b's file, rebuilt
    again.close()
    expect_once(tmp_path / "lake", range(12))


def test_repeated_crashes_during_replay(tmp_path: Path) -> None:
    pipeline = build(tmp_path)
    for i in range(6):
        ingest(pipeline, range(i * 3, i * 3 + 3), f"s{i % 3}")
    pipeline.spool.complete = lambda keys: None
    pipeline.flush()
    crash(pipeline)
    for _ in range(3):  # replay, write, die before the spool hears, again
        again = build(tmp_path)
        again.spool.complete = lambda keys: None
        again.flush()
        crash(again)
    final = build(tmp_path)
    final.close()
    expect_once(tmp_path / "lake", range(18))


def test_damaged_tail_keeps_the_good_records(tmp_path: Path, caplog) -> None:
    pipeline = build(tmp_path)
    for i in range(4):
        ingest(pipeline, [i])
    crash(pipeline)
    (segment,) = segments(pipeline)
    data = segment.read_bytes()
    segment.write_bytes(data[:-10])  # the last record is cut short
    with caplog.at_level(logging.ERROR):
        again = build(tmp_path)
    assert "3 intact record(s) recovered" in caplog.text
    assert list((again.spool.directory / "damaged").iterdir())
    again.close()
    expect_once(tmp_path / "lake", range(3))


# -- limits -----------------------------------------------------------------------------------
def test_full_spool_answers_503_with_retry_after(tmp_path: Path) -> None:
    pipeline = build(tmp_path, durability__max_spool_bytes=2000)
    handler = OtlpHttp(pipeline, max_payload_bytes=1 << 20)
    headers = {"Content-Type": PROTOBUF}
    statuses = [
        handler.handle("POST", "/v1/logs", headers, logs_body(range(i * 10, i * 10 + 10))).status
        for i in range(20)
    ]
    accepted = statuses.index(503)
    assert accepted > 0 and set(statuses[accepted:]) == {503}
    response = handler.handle("POST", "/v1/logs", headers, logs_body([999]))
    assert response.status == 503 and int(response.header("Retry-After") or 0) >= 1
    with pytest.raises(SpoolFull):
        ingest(pipeline, [1000])
    pipeline.flush()  # written: room again
    assert handler.handle("POST", "/v1/logs", headers, logs_body([1001])).status == 200
    pipeline.close()
    expect_once(tmp_path / "lake", [*range(accepted * 10), 1001])


@pytest.mark.parametrize("mode", ["interval", "never"])
def test_other_fsync_modes(tmp_path: Path, mode: str) -> None:
    pipeline = build(tmp_path, durability__fsync=mode, durability__fsync_interval_secs=0.01)
    ingest(pipeline, range(5))
    crash(pipeline)
    again = build(tmp_path, durability__fsync=mode)
    again.close()
    expect_once(tmp_path / "lake", range(5))


def test_spool_off_for_memory_backend_and_without_batching(tmp_path: Path) -> None:
    assert build(tmp_path, storage__backend="memory").spool is None
    assert build(tmp_path, batch__enabled=False).spool is None
    assert build(tmp_path, durability__enabled=False).spool is None


def test_disk_errors_are_503_and_a_refused_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    from otlp2parquet.durability import segment_files as spool_writer

    pipeline = build(tmp_path)
    handler = OtlpHttp(pipeline, max_payload_bytes=1 << 20)
    headers = {"Content-Type": PROTOBUF}
    assert handler.handle("POST", "/v1/logs", headers, logs_body([0, 1])).status == 200
    (first,) = segments(pipeline)
    size = first.stat().st_size
    real = spool_writer._write_all

    def torn(fd: int, data: bytes) -> None:
        real(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_writer, "_write_all", torn)
    response = handler.handle("POST", "/v1/logs", headers, logs_body([2]))
    assert response.status == 503 and int(response.header("Retry-After") or 0) >= 1
    assert segments(pipeline) == [first] and first.stat().st_size == size  # torn tail cut off
    response = handler.handle("POST", "/v1/logs", headers, logs_body([4]))
    assert response.status == 503  # refused in a new segment: the segment goes too
    assert segments(pipeline) == [first]
    monkeypatch.setattr(spool_writer, "_write_all", real)
    assert handler.handle("POST", "/v1/logs", headers, logs_body([3])).status == 200
    assert len(segments(pipeline)) == 2  # the refused write closed the first segment
    crash(pipeline)
    with caplog.at_level(logging.WARNING):
        again = build(tmp_path)
    assert "damaged" not in caplog.text and "recovered" not in caplog.text, caplog.text
    again.close()
    counts = landed(tmp_path / "lake")
    assert counts == {"rec-0": 1, "rec-1": 1, "rec-3": 1}  # rec-2 was refused: not buffered


def test_a_request_that_cannot_be_replayed_is_kept_aside(tmp_path: Path, caplog) -> None:
    pipeline = build(tmp_path)
    ingest(pipeline, [1, 2])
    crash(pipeline)
    with caplog.at_level(logging.ERROR):
        again = build(tmp_path, plugins__disable=["map_logs"])  # no logs mapper any more
    assert "cannot be decoded any more" in caplog.text
    kept = list((again.spool.directory / "damaged").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == logs_body([1, 2])
    assert segments(again) == []  # nothing else refers to it: the spool moves on
    again.close()
