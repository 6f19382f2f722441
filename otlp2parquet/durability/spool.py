"""The durable spool: every accepted request is on local disk before its 200 is sent.

Segments (``spool_segment``; files handled by ``spool_writer``) are appended to and never
rewritten. Each request becomes a DATA record with a source id (a random 64-bit run id, then a
counter: unique across restarts); each Parquet file built from spooled rows is announced by an
INTENT record (its key, partition and source ids) before the upload and closed by a DONE record
after ``on_flushed``. A source id is finished when every file holding its rows is done; a
segment whose records are all finished is deleted, oldest first, so a surviving segment never
lacks the intents that describe its rows. The active segment is closed after every flush
cycle, so that under steady load finished segments can go.

Why the decompressed body and not the mapped Arrow tables: it is what we already hold (no
serialisation on the hot path), it is the smallest form, and decoding is a pure function of the
bytes. Replay (``spool_replay``) re-decodes the bodies; files announced by an intent are
rebuilt from the same rows under the recorded key, so a crash between an upload and the spool's
cleanup rewrites the same object instead of adding a second copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from otlp2parquet.durability.segment import (
    DataRecord,
    DoneRecord,
    IntentRecord,
    SegmentScan,
    encode,
    read_segment,
    segment_number,
)
from otlp2parquet.durability.segment_files import SegmentWriter, lock_directory
from otlp2parquet.errors import ConfigError, SpoolFull, StorageError
from otlp2parquet.types import Partition

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"


@dataclass
class _Intent:
    key: str
    sources: tuple[int, ...]
    segment: int


class Spool:
    """A directory of segments owned by one process (an exclusive lock file). Thread-safe."""

    def __init__(
        self,
        directory: Path,
        fsync: str = "always",
        fsync_interval_secs: float = 1.0,
        max_bytes: int = 256 * 1024 * 1024,
        segment_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.files = SegmentWriter(
            self.directory, self._lock, fsync, fsync_interval_secs, segment_bytes
        )
        self.fsync = fsync
        self._run = secrets.randbits(64) << 64
        self._counter = 0
        self._lock_fd: int | None = None
        self._pending: dict[int, int] = {}  # live segment → unfinished records in it
        self._sources: dict[int, list[int]] = {}  # sid → [unfinished parts, segment]
        self._intents: dict[str, _Intent] = {}  # token → intent
        self._by_key: dict[str, str] = {}  # object key → token
        self._holding = True  # no deletions until recovery is over

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self) -> list[SegmentScan]:
        """Lock the directory and read every existing segment (oldest first); call
        ``adopt_*`` for what is unfinished, then ``release()``."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = lock_directory(self.directory / LOCK_FILE)
        except OSError as exc:
            raise ConfigError(
                f"cannot use {self.directory} as the spool (durability.spool_dir): {exc}"
            ) from exc
        scans = []
        for path in sorted(self.directory.iterdir()):
            number = segment_number(path)
            if number is not None:
                scans.append(read_segment(path, number))
                self.files.adopt(number, scans[-1].size)
        self.files.start()
        return scans

    def close(self) -> None:
        """Sync and close; segments with unfinished records stay for the next start."""
        self.files.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    #: A spool keeps what it is given (``NoDurability`` is the one that does not).
    enabled = True

    # -- accepted requests --------------------------------------------------------------------
    def append(
        self, signal: str, media_type: str, body: bytes, parts: int, retry_after: float = 5.0
    ) -> int:
        """Spool one request whose rows form ``parts`` partition tables; returns its source
        id once it is durable (per ``fsync``). Raises SpoolFull past ``max_bytes`` and
        StorageError when the disk fails."""
        with self._lock:
            total = self.files.total_bytes
            if total and total + len(body) > self.max_bytes:
                raise SpoolFull(
                    f"the spool holds {total} bytes not yet written to storage, at "
                    f"durability.max_spool_bytes ({self.max_bytes}); retry later",
                    retry_after=retry_after,
                )
            self._counter += 1
            sid = self._run | self._counter
            ticket = self.files.write(encode(DataRecord(sid, signal, media_type, body)))
            self._sources[sid] = [parts, self.files.active]
            self._count(self.files.active, 1)
        if self.fsync == "always":
            self.files.sync(ticket)
        return sid

    # -- files --------------------------------------------------------------------------------
    @staticmethod
    def token(partition: Partition, sources: Iterable[int]) -> str:
        """The file token for these rows: the same partition and sources give the same key."""
        digest = hashlib.sha256(repr(partition.key).encode("utf-8", "surrogatepass"))
        for sid in sorted(sources):
            digest.update(sid.to_bytes(16, "big"))
        return digest.hexdigest()[:32]

    def key_for(self, token: str) -> str | None:
        """The key an earlier intent recorded for ``token`` (replayed files keep theirs)."""
        with self._lock:
            intent = self._intents.get(token)
            return intent.key if intent is not None else None

    def intent(self, token: str, key: str, partition: Partition, sources: Iterable[int]) -> None:
        """Announce a file before it is uploaded (once per token; retries reuse it)."""
        with self._lock:
            if token in self._intents:
                return
            ordered = tuple(sorted(sources))
            ticket = self.files.write(encode(IntentRecord(token, key, partition.key, ordered)))
            self._intents[token] = _Intent(key, ordered, self.files.active)
            self._by_key[key] = token
            self._count(self.files.active, 1)
        if self.fsync == "always":
            self.files.sync(ticket)

    def complete(self, keys: Iterable[str]) -> None:
        """These files are written and handed to the catalog: finish their intents and
        sources, and delete the segments nothing refers to any more."""
        with self._lock:
            for key in keys:
                token = self._by_key.pop(key, None)
                if token is None:
                    continue
                intent = self._intents.pop(token)
                try:
                    self.files.write(encode(DoneRecord(token)))
                except StorageError as exc:  # harmless: a replay rewrites the same file
                    log.warning("spool: cannot note %s as done: %s", key, exc)
                self._count(intent.segment, -1)
                for sid in intent.sources:
                    self._finish_part_locked(sid)
            # One segment per flush cycle: under steady load the active segment always holds
            # rows still buffered, so it could never be deleted if it stayed open.
            self.files.retire()
            self._delete_finished_locked()

    # -- recovery -----------------------------------------------------------------------------
    def adopt_source(self, sid: int, segment: int, parts: int) -> None:
        """A recovered request with ``parts`` partition tables still to write."""
        with self._lock:
            if parts > 0:
                self._sources[sid] = [parts, segment]
                self._count(segment, 1)

    def adopt_intent(self, token: str, record: IntentRecord, segment: int) -> None:
        with self._lock:
            self._intents[token] = _Intent(record.key, record.sources, segment)
            self._by_key[record.key] = token
            self._count(segment, 1)

    def drop_intent(self, token: str) -> None:
        """An adopted intent that cannot be rebuilt (its rows are gone): forget it."""
        with self._lock:
            intent = self._intents.pop(token, None)
            if intent is not None:
                self._by_key.pop(intent.key, None)
                self._count(intent.segment, -1)

    def finish_part(self, sid: int) -> None:
        with self._lock:
            self._finish_part_locked(sid)

    def release(self) -> None:
        """Recovery is over: finished segments may be deleted from now on."""
        with self._lock:
            self._holding = False
            self._delete_finished_locked()

    # -- state --------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "segments": len(self.files.sizes),
                "bytes": self.files.total_bytes,
                "pending_requests": len(self._sources),
                "pending_files": len(self._intents),
            }

    def _count(self, segment: int, delta: int) -> None:
        self._pending[segment] = self._pending.get(segment, 0) + delta

    def _finish_part_locked(self, sid: int) -> None:
        entry = self._sources.get(sid)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] <= 0:
            del self._sources[sid]
            self._count(entry[1], -1)

    def _delete_finished_locked(self) -> None:
        """Delete finished segments, oldest first, stopping at the first unfinished one."""
        if self._holding:
            return
        for number in sorted(self.files.sizes):
            if self._pending.get(number, 0) > 0:
                return
            self.files.delete(number)
            self._pending.pop(number, None)
