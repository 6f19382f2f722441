"""Table maintenance: expire old snapshots; rewrite the small files of closed hours.

Compaction rewrites, per (service, hour) partition of a closed hour, the files smaller than
``small_bytes`` into files of up to ``target_bytes``, written beside them in the same layout
directory, and commits one overwrite snapshot that removes the small files and adds the new one.
The replaced Parquet files are then deleted from storage, because readers of the raw files
(``read_parquet('logs/**/*.parquet')``) would otherwise count those rows twice; snapshots older
than the compaction can therefore no longer read those partitions, and should be expired.
Partitions with pending receipts are left alone until the receipts are synced.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otlp2parquet.durability import receipts as rc
from otlp2parquet.schema.tables import TableSchema

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

    from .catalog import IcebergCatalog

log = logging.getLogger(__name__)
HOUR_US = 3_600_000_000


@dataclass
class MaintainReport:
    table: str
    snapshots_expired: int = 0
    partitions_compacted: int = 0
    files_removed: int = 0
    files_added: int = 0
    notes: list[str] = field(default_factory=list)


def expire_snapshots(table: Table, older_than_ms: int, retain_last: int) -> int:
    """Expire snapshots older than ``older_than_ms``, keeping the newest ``retain_last`` and
    every branch or tag head; returns how many were expired."""
    snapshots = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)
    keep = {s.snapshot_id for s in snapshots[-retain_last:]} if retain_last > 0 else set()
    keep |= {ref.snapshot_id for ref in table.metadata.refs.values()}
    ids = [
        s.snapshot_id
        for s in snapshots
        if s.timestamp_ms < older_than_ms and s.snapshot_id not in keep
    ]
    if ids:
        table.maintenance.expire_snapshots().by_ids(ids).commit()
    return len(ids)


def _pending_partitions(catalog: IcebergCatalog, name: str) -> set[tuple[str, int]]:
    found, _ = rc.load_all(catalog.storage, catalog.settings.receipt_prefix)
    return {
        (f.service, f.bucket_start_us // HOUR_US) for r in found if r.table == name for f in r.files
    }


def _bins(files: list[DataFile], target_bytes: int) -> list[list[DataFile]]:
    """Greedy groups of at least two files whose sizes add up to at most ``target_bytes``."""
    groups: list[list[DataFile]] = [[]]
    size = 0
    for data_file in sorted(files, key=lambda f: f.file_path):
        if groups[-1] and size + data_file.file_size_in_bytes > target_bytes:
            groups.append([])
            size = 0
        groups[-1].append(data_file)
        size += data_file.file_size_in_bytes
    return [g for g in groups if len(g) >= 2]


def compact(
    catalog: IcebergCatalog,
    name: str,
    table: Table,
    report: MaintainReport,
    closed_before_us: int,
    small_bytes: int,
    target_bytes: int,
) -> None:
    """Rewrite small files of hours that ended before ``closed_before_us``."""
    schema = catalog.schema(name)
    if table.current_snapshot() is None:
        return
    pending = _pending_partitions(catalog, name)
    partitions: dict[tuple[Any, Any], list[DataFile]] = {}
    for task in table.scan().plan_files():
        data_file = task.file
        service, hour = data_file.partition[0], data_file.partition[1]
        if hour is None or (hour + 1) * HOUR_US > closed_before_us:
            continue
        if data_file.file_size_in_bytes < small_bytes:
            partitions.setdefault((service, hour), []).append(data_file)
    for (service, hour), files in sorted(partitions.items(), key=lambda kv: str(kv[0])):
        if (service, hour) in pending:
            report.notes.append(f"skipped {service!r} hour {hour}: pending receipts; sync first")
            continue
        for group in _bins(files, target_bytes):
            if _rewrite(catalog, table, schema, group, report):
                report.partitions_compacted += 1


def _key_of(catalog: IcebergCatalog, url: str) -> str | None:
    base = catalog.storage.url("").rstrip("/") + "/"
    return url[len(base) :] if url.startswith(base) else None


def _rewrite(
    catalog: IcebergCatalog,
    table: Table,
    schema: TableSchema,
    group: list[DataFile],
    report: MaintainReport,
) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import parquet_file_to_data_file

    from otlp2parquet.engine.arrow_writer import ParquetWriter

    storage = catalog.storage
    keys = [_key_of(catalog, f.file_path) for f in group]
    if any(k is None for k in keys):
        report.notes.append("skipped files outside the storage root")
        return False
    parts = [pq.read_table(pa.BufferReader(storage.get(k))) for k in keys if k]
    if any(p.schema.remove_metadata() != schema.arrow_schema.remove_metadata() for p in parts):
        report.notes.append(f"skipped {len(parts)} files written by another schema version")
        return False
    merged = pa.concat_tables(parts).sort_by(schema.time_column)
    first = merged.column(schema.time_column).cast(pa.int64())[0].as_py()
    directory = str(keys[0]).rsplit("/", 1)[0]
    new_key = f"{directory}/{first}-{uuid.uuid4().hex}.parquet"
    storage.put(new_key, ParquetWriter().to_bytes(merged, schema))
    try:
        tx = table.transaction()
        new_file = parquet_file_to_data_file(table.io, tx.table_metadata, storage.url(new_key))
        props = {"otlp2parquet.operation": "compact"}
        with tx.update_snapshot(snapshot_properties=props).overwrite() as overwrite:
            for data_file in group:
                overwrite.delete_data_file(data_file)
            overwrite.append_data_file(new_file)
        tx.commit_transaction()
    except Exception:
        storage.delete(new_key)  # never registered: remove it so raw readers see no duplicate
        raise
    for key in keys:
        try:
            storage.delete(str(key))
        except Exception as exc:  # the table is right; only the raw layout keeps a stale file
            report.notes.append(f"could not delete replaced file {key}: {exc}")
    report.files_removed += len(group)
    report.files_added += 1
    return True


def maintain(
    catalog: IcebergCatalog,
    names: list[str],
    older_than_ms: int,
    retain_last: int,
    compact_before_us: int | None = None,
    small_bytes: int = 32 << 20,
    target_bytes: int = 128 << 20,
) -> list[MaintainReport]:
    """Run maintenance on each existing table of ``names``."""
    from pyiceberg.exceptions import NoSuchTableError

    reports = []
    for name in names:
        report = MaintainReport(".".join(catalog.identifier(name)))
        try:
            table = catalog.pyiceberg_catalog().load_table(catalog.identifier(name))
        except NoSuchTableError:
            report.notes.append("no such table yet")
            reports.append(report)
            continue
        if compact_before_us is not None:
            compact(catalog, name, table, report, compact_before_us, small_bytes, target_bytes)
            table.refresh()
        report.snapshots_expired = expire_snapshots(table, older_than_ms, retain_last)
        reports.append(report)
    return reports
