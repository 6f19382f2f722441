"""Pending receipts: durable notes of files written but not (yet) registered in a catalog.

Core home of the receipt logic, shared by the Iceberg catalog and the Cloudflare adapter (built-in
plugins never import each other). Object-store receipts end in ``.json``; Workers KV receipts use
``suffix=""`` so their keys read ``pending:{timestamp_ms}:{uuid}``.

A receipt is one small JSON object per table and flush cycle, stored under ``_pending/`` next to
the data. It is written *before* the commit and deleted after it, so a crash, a catalog outage or
a lost commit response never loses track of a file; whoever syncs later re-checks the table
before adding anything, so a file is never registered twice.

Everything here is a pure function over a ``ReceiptStore`` (``put``/``get``/``list``/``delete``:
a ``StorageBackend``, or a small adapter over a key-value store such as Workers KV with
``prefix="pending:"``), so other adapters reuse it unchanged.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

log = logging.getLogger(__name__)

VERSION = 1
SUFFIX = ".json"


class ReceiptStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class PendingFile:
    """One written file awaiting registration."""

    url: str
    key: str
    rows: int = 0
    bytes: int = 0
    service: str = ""
    bucket_start_us: int = 0
    min_ts_us: int = 0
    max_ts_us: int = 0

    @classmethod
    def from_written(cls, written: Any) -> PendingFile:
        """From a ``WrittenFile`` (or anything with the same attributes)."""
        return cls(
            url=written.url,
            key=written.key,
            rows=int(written.rows),
            bytes=int(written.bytes),
            service=written.partition.service,
            bucket_start_us=int(written.partition.bucket_start_us),
            min_ts_us=int(written.min_ts_us),
            max_ts_us=int(written.max_ts_us),
        )


@dataclass(frozen=True)
class Receipt:
    """Files of one table that still need a catalog commit."""

    table: str  # schema name: logs, traces, metrics_gauge, ...
    files: tuple[PendingFile, ...]
    created_ms: int
    attempts: int = 0
    last_error: str = ""
    last_attempt_ms: int = 0
    key: str = field(default="", compare=False)  # where it is stored; not serialised

    def age_secs(self, now_ms: int | None = None) -> float:
        return ((now_ms if now_ms is not None else now_millis()) - self.created_ms) / 1000


def now_millis() -> int:
    return time.time_ns() // 1_000_000


def new_key(
    prefix: str,
    created_ms: int,
    token: str | None = None,
    sep: str = "-",
    suffix: str = SUFFIX,
) -> str:
    """``{prefix}{created_ms:013d}{sep}{token}{suffix}``: keys sort by creation time."""
    return f"{prefix}{created_ms:013d}{sep}{token or uuid.uuid4().hex}{suffix}"


def encode(receipt: Receipt) -> bytes:
    body = asdict(receipt)
    body.pop("key")
    body["version"] = VERSION
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def decode(data: bytes, key: str = "") -> Receipt:
    """Parse a receipt; raise ValueError when it is not one."""
    try:
        body = json.loads(data)
        files = tuple(PendingFile(**f) for f in body["files"])
        return Receipt(
            table=str(body["table"]),
            files=files,
            created_ms=int(body["created_ms"]),
            attempts=int(body.get("attempts", 0)),
            last_error=str(body.get("last_error", "")),
            last_attempt_ms=int(body.get("last_attempt_ms", 0)),
            key=key,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"receipt {key or '(unnamed)'} is malformed: {exc}") from None


def create(
    store: ReceiptStore,
    table: str,
    files: Sequence[PendingFile],
    prefix: str,
    now_ms: int | None = None,
    last_error: str = "",
    sep: str = "-",
    suffix: str = SUFFIX,
) -> Receipt:
    """Write a new receipt for ``files`` and return it (with its key)."""
    created = now_ms if now_ms is not None else now_millis()
    key = new_key(prefix, created, sep=sep, suffix=suffix)
    receipt = Receipt(table, tuple(files), created, last_error=last_error, key=key)
    store.put(receipt.key, encode(receipt))
    return receipt


def load_all(
    store: ReceiptStore, prefix: str, suffix: str = SUFFIX
) -> tuple[list[Receipt], list[tuple[str, str]]]:
    """Every readable receipt, oldest first, and ``(key, reason)`` for unreadable ones.
    A receipt deleted by another process between listing and reading is skipped."""
    receipts: list[Receipt] = []
    unreadable: list[tuple[str, str]] = []
    for key in store.list(prefix):
        if not key.endswith(suffix):
            continue
        try:
            data = store.get(key)
        except Exception as exc:  # gone (synced elsewhere) or unreadable: both are reported
            if _gone(store, key):
                log.debug("receipt %s disappeared while reading: %s", key, exc)
            else:
                unreadable.append((key, f"{type(exc).__name__}: {exc}"))
            continue
        try:
            receipts.append(decode(data, key))
        except ValueError as exc:
            unreadable.append((key, str(exc)))
    receipts.sort(key=lambda r: (r.created_ms, r.key))
    return receipts, unreadable


def _gone(store: ReceiptStore, key: str) -> bool:
    try:
        return key not in store.list(key)
    except Exception:  # cannot tell: treat it as unreadable, so it stays visible
        log.debug("cannot list %s", key, exc_info=True)
        return False


def record_failure(
    store: ReceiptStore, receipt: Receipt, error: str, now_ms: int | None = None
) -> Receipt:
    """Rewrite the receipt with one more attempt and the error; the receipt stays pending."""
    updated = replace(
        receipt,
        attempts=receipt.attempts + 1,
        last_error=error[:2000],
        last_attempt_ms=now_ms if now_ms is not None else now_millis(),
    )
    store.put(receipt.key, encode(updated))
    return updated


def remove(store: ReceiptStore, receipts: Iterable[Receipt]) -> list[str]:
    """Delete committed receipts; returns the keys that could not be deleted (they are
    harmless: the next sync finds their files registered and deletes them)."""
    failed = []
    for receipt in receipts:
        try:
            store.delete(receipt.key)
        except Exception as exc:  # leftover receipts are idempotent; report, do not raise
            if not _gone(store, receipt.key):
                log.warning("cannot delete committed receipt %s: %s", receipt.key, exc)
                failed.append(receipt.key)
    return failed


def unique_files(receipts: Iterable[Receipt]) -> list[PendingFile]:
    """The files of ``receipts``, each URL once, in receipt order."""
    seen: dict[str, PendingFile] = {}
    for receipt in receipts:
        for pending in receipt.files:
            seen.setdefault(pending.url, pending)
    return list(seen.values())
