"""Working through pending receipts: per table, in chunks of at most ``SYNC_CHUNK_FILES`` files,
one snapshot per chunk; a receipt is deleted only after its files are registered (or found
registered already, which makes a repeated or concurrent sync harmless)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from otlp2parquet.durability import receipts as rc
from otlp2parquet.errors import CatalogError

if TYPE_CHECKING:
    from .catalog import IcebergCatalog

log = logging.getLogger(__name__)
#: Files per snapshot when a sync works through a backlog.
SYNC_CHUNK_FILES = 500


@dataclass
class SyncReport:
    """What one sync did."""

    committed: int = 0  # files newly registered
    already: int = 0  # files found registered (a lost response, or synced elsewhere)
    receipts_done: int = 0
    receipts_failed: int = 0
    skipped_young: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def sync_receipts(catalog: IcebergCatalog, min_age_secs: float = 0.0) -> SyncReport:
    """Commit every pending receipt at least ``min_age_secs`` old (younger ones may belong to
    a commit still in flight)."""
    report = SyncReport()
    storage, prefix = catalog.storage, catalog.settings.receipt_prefix
    found, report.unreadable = rc.load_all(storage, prefix)
    now = rc.now_millis()
    by_table: dict[str, list[rc.Receipt]] = {}
    for receipt in found:
        if receipt.age_secs(now) < min_age_secs:
            report.skipped_young += 1
        else:
            by_table.setdefault(receipt.table, []).append(receipt)
    for name, group in by_table.items():
        for chunk in chunks(group, SYNC_CHUNK_FILES):
            files = rc.unique_files(chunk)
            try:
                added = catalog.append(name, files)
            except CatalogError as exc:
                report.errors.append(str(exc))
                report.receipts_failed += len(chunk)
                for receipt in chunk:
                    catalog.record_failure(receipt, str(exc))
                break
            report.committed += added
            report.already += len(files) - added
            rc.remove(storage, chunk)
            report.receipts_done += len(chunk)
    if report.committed or report.errors:
        log.info(
            "catalog sync: %d file(s) registered, %d already, %d receipt(s) still pending",
            report.committed,
            report.already,
            report.receipts_failed,
        )
    return report


def chunks(receipts: list[rc.Receipt], max_files: int) -> list[list[rc.Receipt]]:
    """Consecutive groups of receipts holding at most ``max_files`` files (or one receipt)."""
    groups: list[list[rc.Receipt]] = [[]]
    count = 0
    for receipt in receipts:
        if groups[-1] and count + len(receipt.files) > max_files:
            groups.append([])
            count = 0
        groups[-1].append(receipt)
        count += len(receipt.files)
    return [g for g in groups if g]
