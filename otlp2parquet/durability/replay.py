"""Replay of a spool after a restart: every unfinished request goes back into the batcher.

Two passes over the recovered segments:

1. intents and DONE records: which (source, partition) parts are already in a finished file,
   and which files were announced but not finished;
2. requests, in order: each body is decoded, mapped and partitioned again by the pipeline
   (``rebuild``: ``Pipeline.rebuild``, whatever its table engine). A part that a
   finished file holds is skipped; a part of an unfinished file joins that file's group, and a
   complete group goes back as one sealed buffer that is written under its recorded key (the
   same object, overwritten if it was uploaded before the crash); every other part is buffered
   as new data.

An intent whose rows are gone (their segment was deleted, so every file of them was finished) is
finished too. Damaged segment tails are kept under ``damaged/`` and reported with counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otlp2parquet.durability.segment import DataRecord, DoneRecord, IntentRecord, SegmentScan
from otlp2parquet.durability.spool import Spool
from otlp2parquet.types import Partition

if TYPE_CHECKING:
    from otlp2parquet.pipeline.batcher import Batcher

log = logging.getLogger(__name__)

Parts = list[tuple[Partition, Any]]
RebuildFn = Callable[[DataRecord], Parts]
DAMAGED_DIR = "damaged"


@dataclass
class ReplayReport:
    segments: int = 0
    requests: int = 0
    rows: int = 0
    files_rebuilt: int = 0
    parts_already_written: int = 0
    damaged_segments: int = 0
    damaged_bytes: int = 0
    unreadable: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class _Group:
    record: IntentRecord
    parts: dict[int, tuple[Partition, Any]] = field(default_factory=dict)


def replay(
    spool: Spool, scans: Sequence[SegmentScan], rebuild: RebuildFn, batcher: Batcher
) -> ReplayReport:
    """Put everything unfinished in ``scans`` back into ``batcher``; see the module doc."""
    report = ReplayReport(segments=len(scans))
    done: set[str] = set()
    intents: dict[str, tuple[IntentRecord, int]] = {}
    for scan in scans:
        _note_damage(spool, scan, report)
        for record in scan.records:
            if isinstance(record, DoneRecord):
                done.add(record.token)
            elif isinstance(record, IntentRecord):
                intents[record.token] = (record, scan.number)
    finished: set[tuple[int, tuple[str, str, int]]] = set()
    groups: dict[tuple[int, tuple[str, str, int]], _Group] = {}
    for token, (record, segment) in intents.items():
        if token in done:
            finished.update((sid, record.pkey) for sid in record.sources)
        else:
            spool.adopt_intent(token, record, segment)
            group = _Group(record)
            for sid in record.sources:
                groups[(sid, record.pkey)] = group
    for scan in scans:
        for record in scan.records:
            if isinstance(record, DataRecord):
                _replay_request(
                    spool, record, scan.number, rebuild, batcher, finished, groups, report
                )
    for group in {id(g): g for g in groups.values()}.values():  # intents whose rows are gone
        spool.drop_intent(group.record.token)
        for sid in group.parts:
            spool.finish_part(sid)
    spool.release()
    if report.requests or report.damaged_segments:
        log.info(
            "spool replay: %d request(s) (%d rows) from %d segment(s); %d file(s) rebuilt under "
            "their recorded keys, %d part(s) already written",
            report.requests,
            report.rows,
            report.segments,
            report.files_rebuilt,
            report.parts_already_written,
            extra={"spool_replay": report.__dict__},
        )
    return report


def _replay_request(
    spool: Spool,
    record: DataRecord,
    segment: int,
    rebuild: RebuildFn,
    batcher: Batcher,
    finished: set[tuple[int, tuple[str, str, int]]],
    groups: dict[tuple[int, tuple[str, str, int]], _Group],
    report: ReplayReport,
) -> None:
    report.requests += 1
    try:
        parts = rebuild(record)
    except Exception as exc:  # one bad record must not keep the server from starting: kept
        report.unreadable += 1
        kept = _keep(spool, f"request-{record.sid:032x}.{record.signal}.bin", record.body)
        log.error(
            "spool replay: a spooled %s request (%s) cannot be decoded any more: %s; "
            "its body is kept at %s",
            record.signal,
            record.media_type,
            exc,
            kept,
        )
        return
    fresh: Parts = []
    pending = 0
    for partition, table in parts:
        where = (record.sid, partition.key)
        if where in finished:
            report.parts_already_written += 1
            continue
        pending += 1
        report.rows += table.num_rows
        group = groups.pop(where, None)
        if group is None:
            fresh.append((partition, table))
            continue
        group.parts[record.sid] = (partition, table)
        if len(group.parts) == len(group.record.sources):
            tables = [group.parts[sid][1] for sid in group.record.sources]
            batcher.add_sealed(partition, tables, group.record.sources)
            report.files_rebuilt += 1
    spool.adopt_source(record.sid, segment, pending)
    if fresh:
        batcher.add_many(fresh, sources=(record.sid,), check=False)


def _note_damage(spool: Spool, scan: SegmentScan, report: ReplayReport) -> None:
    if not scan.problem:
        return
    lost = scan.size - scan.good_bytes
    report.damaged_segments += 1
    report.damaged_bytes += lost
    report.problems.append(f"{scan.path.name}: {scan.problem}")
    kept = ""
    if lost > 0:
        with scan.path.open("rb") as handle:
            handle.seek(scan.good_bytes)
            kept = str(_keep(spool, f"{scan.path.name}.tail", handle.read()))
    log.error(
        "spool segment %s is damaged (%s): %d intact record(s) recovered, %d byte(s) after them "
        "discarded%s",
        scan.path.name,
        scan.problem,
        len(scan.records),
        lost,
        f" (kept at {kept})" if kept else "",
        extra={"segment": scan.path.name, "records": len(scan.records), "lost_bytes": lost},
    )


def _keep(spool: Spool, name: str, data: bytes) -> str:
    """Save evidence under ``damaged/``; returns where (or why not)."""
    target = spool.directory / DAMAGED_DIR / name
    try:
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        return f"nowhere ({exc})"
    return str(target)
