"""The ``iceberg`` catalog component: commit after write, pending receipts, background sync.

Flow of one flush cycle (``commit``): per table, a receipt listing the cycle's files is written
first, then one ``add_files`` snapshot is committed, then the receipt is deleted. When the commit
fails the receipt stays with the error; the background task (every
``iceberg.sync_interval_secs``) and ``otlp2parquet catalog sync`` retry it. After a failure,
flushes skip the commit for one interval (receipts only), so a hanging catalog does not hold up
every flush. The pyiceberg catalog is connected lazily, so an unreachable catalog never stops
ingest from starting.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otlp2parquet.durability import receipts as rc
from otlp2parquet.errors import CatalogError, ConfigError
from otlp2parquet.schema.tables import TableSchema, load_table_schema
from otlp2parquet.types import StorageBackend, WrittenFile

from .properties import CATALOG_NAME, CatalogSettings
from .sync import SyncReport, sync_receipts
from .tables import append_files, ensure_table

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog as PyCatalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)


@dataclass
class CatalogStatus:
    kind: str
    properties: dict[str, str]
    namespace: str
    receipts: list[rc.Receipt]
    unreadable: list[tuple[str, str]]
    last_error: str


class IcebergCatalog:
    """Registers written files in Iceberg v2 tables, one table per schema."""

    def __init__(
        self,
        settings: CatalogSettings,
        storage: StorageBackend,
        schemas: Mapping[str, TableSchema],
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.schemas = schemas
        self.last_error = ""
        self._catalog: PyCatalog | None = None
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer = f"{socket.gethostname()}:{os.getpid()}"
        self._deferred_until = 0.0

    # -- pyiceberg access ---------------------------------------------------------------------
    def pyiceberg_catalog(self) -> PyCatalog:
        if self._catalog is None:
            from pyiceberg.catalog import load_catalog

            if self.settings.local_dir:
                os.makedirs(self.settings.local_dir, exist_ok=True)
            try:
                self._catalog = load_catalog(CATALOG_NAME, **self.settings.properties)
            except Exception as exc:  # e.g. two processes creating the SQL catalog's tables
                log.debug("connecting the catalog failed (%s); trying once more", exc)
                time.sleep(0.2)
                self._catalog = load_catalog(CATALOG_NAME, **self.settings.properties)
        return self._catalog

    def schema(self, name: str) -> TableSchema:
        return self.schemas[name] if name in self.schemas else load_table_schema(name)

    def identifier(self, name: str) -> tuple[str, str]:
        return (self.settings.namespace, self.settings.table_name(name, self.schema(name).table))

    def table(self, name: str) -> Table:
        """The table for schema ``name``, fresh from the catalog (created/evolved once)."""
        cached = self._tables.get(name)
        if cached is not None:
            cached.refresh()
            return cached
        table = ensure_table(self.pyiceberg_catalog(), self.identifier(name), self.schema(name))
        self._tables[name] = table
        return table

    def append(self, name: str, files: Sequence[rc.PendingFile]) -> int:
        """``append_files`` under the commit lock, given at most ``commit_timeout_secs``.

        pyiceberg sets no network timeouts, so the work runs in a helper thread that owns the
        lock until it ends; a commit still hanging after the limit is reported as failed (its
        receipt stays, so whether it lands later or not, the next sync reconciles it).
        """
        limit = self.settings.commit_timeout_secs
        try:
            where = ".".join(self.identifier(name))
        except ConfigError as exc:  # e.g. a receipt for a table whose mapper is gone
            raise CatalogError(f"cannot register {len(files)} {name} file(s): {exc}") from exc
        if not self._lock.acquire(timeout=limit):
            raise CatalogError(f"commit to {where} skipped: an earlier commit is still running")
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["added"] = self._append_locked(name, files)
            except BaseException as exc:  # handed to the waiting caller, which raises it
                outcome["error"] = exc
            finally:
                self._lock.release()

        worker = threading.Thread(target=work, name="otlp2parquet-iceberg-commit", daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():
            self._deferred_until = time.monotonic() + self.settings.sync_interval_secs
            self.last_error = f"commit to {where} did not finish within {limit:g} s"
            raise CatalogError(f"{self.last_error} (iceberg.commit_timeout_secs)")
        if "error" in outcome:
            raise outcome["error"]
        return int(outcome["added"])

    def _append_locked(self, name: str, files: Sequence[rc.PendingFile]) -> int:
        props = {"otlp2parquet.writer": self._writer, "otlp2parquet.files": str(len(files))}
        try:
            added = append_files(
                lambda: self.table(name), self.schema(name), files, snapshot_properties=props
            )
        except CatalogError as exc:
            self.last_error = str(exc)
            raise
        except Exception as exc:  # catalog down, storage, bad file: the receipt keeps them
            self._tables.pop(name, None)
            self._catalog = None if _connection_problem(exc) else self._catalog
            self.last_error = f"{type(exc).__name__}: {exc}"
            # Flushes stop waiting on a failing catalog; the background sync takes over.
            self._deferred_until = time.monotonic() + self.settings.sync_interval_secs
            raise CatalogError(
                f"Iceberg commit of {len(files)} file(s) to "
                f"{'.'.join(self.identifier(name))} failed: {self.last_error}"
            ) from exc
        self._deferred_until = 0.0
        return added

    # -- Catalog protocol ---------------------------------------------------------------------
    def commit(self, files: Sequence[WrittenFile]) -> None:
        """One snapshot per table for one flush cycle; failures leave pending receipts and
        raise CatalogError (the files themselves are already safe)."""
        self._start_sync_thread()
        by_table: dict[str, list[WrittenFile]] = {}
        for written in files:
            by_table.setdefault(written.table, []).append(written)
        failures = []
        for name, group in by_table.items():
            pending = [rc.PendingFile.from_written(w) for w in group]
            deferred = time.monotonic() < self._deferred_until
            note = f"deferred: the catalog failed recently ({self.last_error})" if deferred else ""
            receipt = self._write_receipt(name, pending, note)
            if deferred and receipt is not None:
                failures.append(f"{len(group)} {name} file(s) {note}")
                for written in group:
                    written.catalog = "pending"
                continue
            try:
                self.append(name, pending)
            except CatalogError as exc:
                failures.append(str(exc))
                outcome = "pending"
                if receipt is not None:
                    self.record_failure(receipt, str(exc))
                else:
                    outcome = "failed"
            else:
                outcome = "committed"
                if receipt is not None:
                    rc.remove(self.storage, [receipt])
            for written in group:
                written.catalog = outcome
        if failures:
            raise CatalogError(
                "; ".join(failures) + " (kept as pending receipts; retried by "
                "the background sync and `otlp2parquet catalog sync`)"
            )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # -- receipts -----------------------------------------------------------------------------
    def _write_receipt(
        self, name: str, pending: list[rc.PendingFile], note: str = ""
    ) -> rc.Receipt | None:
        try:
            prefix = self.settings.receipt_prefix
            return rc.create(self.storage, name, pending, prefix, last_error=note)
        except Exception as exc:  # the commit is still attempted; only a crash could lose it
            log.error(
                "cannot write pending receipt for %d %s file(s): %s; committing without one",
                len(pending),
                name,
                exc,
            )
            return None

    def record_failure(self, receipt: rc.Receipt, error: str) -> None:
        try:
            rc.record_failure(self.storage, receipt, error)
        except Exception as exc:  # the receipt exists already; only its error text is stale
            log.warning("cannot update receipt %s: %s", receipt.key, exc)

    def sync(self, min_age_secs: float = 0.0) -> SyncReport:
        """Commit every pending receipt at least ``min_age_secs`` old, grouped per table."""
        return sync_receipts(self, min_age_secs)

    def pending_receipts(self) -> int:
        """How many receipts wait for a commit (one listing; read by self-telemetry)."""
        keys = self.storage.list(self.settings.receipt_prefix)
        return sum(1 for key in keys if key.endswith(rc.SUFFIX))

    def status(self) -> CatalogStatus:
        found, unreadable = rc.load_all(self.storage, self.settings.receipt_prefix)
        return CatalogStatus(
            self.settings.kind,
            self.settings.masked(),
            self.settings.namespace,
            found,
            unreadable,
            self.last_error,
        )

    def maintain(self, names: Sequence[str], **options: Any) -> list[Any]:
        """Expire snapshots and optionally compact; see ``maintain.maintain``."""
        from .maintain import maintain

        with self._lock:
            try:
                return maintain(self, list(names), **options)
            except CatalogError:
                raise
            except Exception as exc:  # reported as one line by the CLI, with its cause
                raise CatalogError(f"maintenance failed: {type(exc).__name__}: {exc}") from exc

    # -- background task ----------------------------------------------------------------------
    def _start_sync_thread(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        self._thread = threading.Thread(
            target=self._sync_loop, name="otlp2parquet-iceberg-sync", daemon=True
        )
        self._thread.start()

    def _sync_loop(self) -> None:
        interval = self.settings.sync_interval_secs
        while not self._stop.wait(interval):
            try:
                # Receipts younger than one interval belong to commits still in flight.
                self.sync(min_age_secs=interval)
            except Exception:  # a sync failure must never end the loop; it is logged
                log.exception("background catalog sync failed")


def _connection_problem(exc: BaseException) -> bool:
    """Errors after which the pyiceberg catalog object is rebuilt on the next attempt."""
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(
        names
        & {
            "OperationalError",
            "ConnectionError",
            "Timeout",
            "InterfaceError",
            "DisconnectionError",
            "ReadTimeout",
            "ConnectTimeout",
        }
    )


def _chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and len(out) < 10:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out
