"""The batcher: buffers per (table, service, hour) and flushes each buffer as ONE file.

A buffer is flushed when it reaches ``max_rows`` or ``max_bytes``, when its oldest data is
``max_age_secs`` old (enforced by a background thread after ``start()``), and by ``flush()`` and
``close()``, which drain everything. Memory is bounded: past ``max_buffered_bytes`` an add raises
``Backpressure`` instead of growing. A failed write keeps its rows buffered and is retried with
exponential backoff; rows are never dropped. With ``enabled=False`` every add is written before
it returns and storage errors propagate. Thread-safe.

A buffer taken for writing is *sealed*: it gets its file token then (``token(partition,
sources)``), and if the write fails it is retried with exactly the same rows and token, so an
upload that failed only in appearance is overwritten rather than duplicated; rows added
meanwhile go to a new buffer. While storage is failing, open buffers are not flushed by age
(they keep growing into one file) but still when full. Each add may carry ``sources`` (the
spool's ids for its rows); a buffer passes the union of them to ``write``.

Tables are opaque here: the table engine (``TableOps``) sizes and concatenates them, once per
table, so the batcher serves the pyarrow engine and the pure-Python one alike.

Without a running flusher thread (a CLI run that never calls ``start()``), full buffers are
written by the adding thread itself and backpressure becomes a synchronous flush: nobody else
would ever drain them.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import Backpressure, StorageError
from otlp2parquet.types import Partition, WrittenFile

if TYPE_CHECKING:
    from otlp2parquet.engine import TableOps

log = logging.getLogger(__name__)

WriteFn = Callable[[Partition, Any, str, tuple[int, ...]], WrittenFile]
FlushedFn = Callable[[Sequence[WrittenFile]], None]
TokenFn = Callable[[Partition, tuple[int, ...]], str]


def random_token(partition: Partition, sources: tuple[int, ...]) -> str:
    return uuid.uuid4().hex


@dataclass
class _Buffer:
    partition: Partition
    created: float
    tables: list[Any] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    attempts: int = 0  # failed writes in a row
    retry_at: float = 0.0
    sources: list[int] = field(default_factory=list)
    token: str = ""  # set when sealed

    def add(self, table: Any, size: int, sources: Sequence[int] = ()) -> None:
        self.tables.append(table)
        self.rows += table.num_rows
        self.bytes += size
        self.sources.extend(sources)


class Batcher:
    """Buffers partitioned tables of ``engine`` and writes them through ``write``; see the
    module doc."""

    def __init__(
        self,
        write: WriteFn,
        on_flushed: FlushedFn,
        engine: TableOps,
        enabled: bool = True,
        max_rows: int = 200_000,
        max_bytes: int = 128 * 1024 * 1024,
        max_age_secs: float = 10.0,
        max_buffered_bytes: int = 512 * 1024 * 1024,
        retry_initial_secs: float = 0.5,
        retry_max_secs: float = 30.0,
        token: TokenFn = random_token,
    ) -> None:
        self.write = write
        self.engine = engine
        self.token = token
        self.on_flushed = on_flushed
        self.enabled = enabled
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.max_age_secs = max_age_secs
        self.max_buffered_bytes = max_buffered_bytes
        self.retry_initial_secs = retry_initial_secs
        self.retry_max_secs = retry_max_secs
        self._buffers: dict[tuple[str, str, int], _Buffer] = {}  # open, one per key
        self._sealed: list[_Buffer] = []  # awaiting a (re)try, oldest first
        self._in_flight_rows = 0
        self._in_flight_bytes = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._flush_lock = threading.Lock()  # one flush cycle at a time
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._failures = 0  # failed writes since the last success
        self.last_error: str | None = None
        self.files_written = 0

    # -- state ------------------------------------------------------------------------------
    @property
    def buffered_rows(self) -> int:
        with self._lock:
            return self._buffered_rows_locked()

    @property
    def buffered_bytes(self) -> int:
        with self._lock:
            return self._buffered_bytes_locked()

    def _all_locked(self) -> list[_Buffer]:
        return [*self._sealed, *self._buffers.values()]

    def _buffered_rows_locked(self) -> int:
        return sum(b.rows for b in self._all_locked()) + self._in_flight_rows

    def _buffered_bytes_locked(self) -> int:
        return sum(b.bytes for b in self._all_locked()) + self._in_flight_bytes

    @property
    def failing(self) -> bool:
        """True while the latest write failed (storage unreachable); cleared by a success."""
        return self._failures > 0

    @property
    def healthy(self) -> bool:
        return self._failures == 0

    def stats(self) -> dict[str, object]:
        """A snapshot for health endpoints and logs."""
        with self._lock:
            return {
                "buffers": len(self._buffers) + len(self._sealed),
                "buffered_rows": self._buffered_rows_locked(),
                "buffered_bytes": self._buffered_bytes_locked(),
                "files_written": self.files_written,
                "failing": self._failures > 0,
                "last_error": self.last_error,
            }

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _backoff(self, attempts: int) -> float:
        """Exponential, capped at ``retry_max_secs``, with jitter (50-100 %) so that many
        buffers, or many servers, do not retry a recovering store in lockstep."""
        exponent = min(max(attempts - 1, 0), 30)
        delay = min(self.retry_initial_secs * 2**exponent, self.retry_max_secs)
        return delay * random.uniform(0.5, 1.0)

    # -- adding -----------------------------------------------------------------------------
    def add(self, partition: Partition, table: Any) -> None:
        self.add_many([(partition, table)])

    def add_many(
        self,
        parts: Sequence[tuple[Partition, Any]],
        sources: Sequence[int] = (),
        check: bool = True,
        sizes: Sequence[int] | None = None,
    ) -> None:
        """Buffer every part, or none of them (``Backpressure``; ``check=False`` skips that
        test, for callers that made ``check_room`` already, and ``sizes`` are the parts'
        ``engine.nbytes`` when the caller has them); with batching off, write them all now
        (``StorageError`` on failure)."""
        if sizes is None:
            sizes = [self.engine.nbytes(t) for _, t in parts]
        kept = [(part, size) for part, size in zip(parts, sizes, strict=True) if part[1].num_rows]
        if not kept:
            return
        parts = [part for part, _ in kept]
        if not self.enabled:
            self._write_now(parts, tuple(sources))
            return
        sizes = [size for _, size in kept]
        if check:
            self.check_room(sum(sizes))
        with self._lock:
            now = time.monotonic()
            full = False
            for (partition, table), size in zip(parts, sizes, strict=True):
                buffer = self._buffers.get(partition.key)
                if buffer is None:
                    buffer = self._buffers[partition.key] = _Buffer(partition, now)
                buffer.add(table, size, sources)
                full = full or self._full(buffer)
            if full and self.running:
                self._wake.notify_all()
        if full and not self.running:
            self._flush(lambda b, now: self._full(b) and b.retry_at <= now)

    def check_room(self, incoming: int) -> None:
        """Raise ``Backpressure`` unless ``incoming`` more bytes fit under
        ``max_buffered_bytes`` (without a flusher thread, flush first to make room)."""
        if not self.running and self.buffered_bytes + incoming > self.max_buffered_bytes:
            self.flush()
        with self._lock:
            buffered = self._buffered_bytes_locked()
            if buffered and buffered + incoming > self.max_buffered_bytes:
                self._wake.notify_all()
                raise Backpressure(
                    f"{buffered} bytes are buffered, over batch.max_buffered_bytes "
                    f"({self.max_buffered_bytes})"
                    + (f"; storage is failing: {self.last_error}" if self.failing else ""),
                    retry_after=self._retry_after_locked(),
                )

    def add_sealed(
        self, partition: Partition, tables: Sequence[Any], sources: Sequence[int]
    ) -> None:
        """Queue ``tables``' rows to be written as exactly one file, never merged with others
        (a file rebuilt by the spool's replay); its token comes from ``token(partition,
        sources)``."""
        ordered = tuple(sorted(sources))
        buffer = _Buffer(partition, time.monotonic(), sources=list(ordered))
        for table in tables:
            buffer.add(table, self.engine.nbytes(table))
        buffer.token = self.token(partition, ordered)
        with self._lock:
            self._sealed.append(buffer)
            self._wake.notify_all()

    def retry_after(self) -> float:
        """Seconds a refused client should wait (the next retry of a failed write)."""
        with self._lock:
            return self._retry_after_locked()

    def _retry_after_locked(self) -> float:
        if not self.failing:
            return 1.0
        pending = [b.retry_at for b in self._sealed if b.attempts]
        wait = min(pending) - time.monotonic() if pending else self.retry_initial_secs
        return max(1.0, round(wait, 1))

    def _full(self, buffer: _Buffer) -> bool:
        return buffer.rows >= self.max_rows or buffer.bytes >= self.max_bytes

    def _deadline(self, buffer: _Buffer) -> float:
        """When ``buffer`` is due: sealed ones at their retry time, full ones now, others at
        their age limit (not while storage is failing: they keep growing meanwhile)."""
        if buffer.token:
            return buffer.retry_at
        if self._full(buffer):
            return 0.0
        return math.inf if self.failing else buffer.created + self.max_age_secs

    def _due(self, buffer: _Buffer, now: float) -> bool:
        return self._deadline(buffer) <= now

    def _write_now(
        self, parts: Sequence[tuple[Partition, Any]], sources: tuple[int, ...] = ()
    ) -> None:
        """Batching off: write each part now. Files written before a failure stay written (and
        are reported); the caller's retry may then store those rows twice."""
        written: list[WrittenFile] = []
        try:
            for partition, table in parts:
                try:
                    token = self.token(partition, sources)
                    written.append(self.write(partition, table, token, sources))
                except Exception as exc:
                    self._record_failure(exc)
                    raise
                self._record_success()
        finally:
            self._notify(written)

    # -- flushing ---------------------------------------------------------------------------
    def flush(self) -> list[WrittenFile]:
        """Write everything buffered now (retry timers ignored) and return the files written.
        Raise StorageError if some buffer could not be written; its rows stay buffered."""
        written, failed = self._flush(lambda b, now: True)
        if failed:
            raise StorageError(
                f"{failed} buffered file(s) could not be written and stay buffered: "
                f"{self.last_error}"
            )
        return written

    def _flush(self, select: Callable[[_Buffer, float], bool]) -> tuple[list[WrittenFile], int]:
        """One flush cycle over the buffers ``select`` picks; returns the files written and how
        many buffers failed."""
        with self._flush_lock:
            with self._lock:
                now = time.monotonic()
                taken = [b for b in self._all_locked() if select(b, now)]
                for buffer in taken:
                    if buffer.token:
                        self._sealed.remove(buffer)
                    else:
                        del self._buffers[buffer.partition.key]
                    self._in_flight_rows += buffer.rows
                    self._in_flight_bytes += buffer.bytes
            written: list[WrittenFile] = []
            failed = 0
            for buffer in taken:
                rows, size = buffer.rows, buffer.bytes
                try:
                    written.append(self._write_sealed(buffer))
                    self._record_success()
                except Exception as exc:  # kept for a retry, whatever the cause
                    self._record_failure(exc)
                    self._requeue(buffer)
                    failed += 1
                finally:
                    with self._lock:
                        self._in_flight_rows -= rows
                        self._in_flight_bytes -= size
            self._notify(written)
            return written, failed

    def _record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self.files_written += 1

    def _record_failure(self, exc: Exception) -> None:
        with self._lock:
            self._failures += 1
            self.last_error = str(exc)
            failures = self._failures
        log.warning("write failed (%d in a row): %s", failures, exc)

    def _write_sealed(self, buffer: _Buffer) -> WrittenFile:
        """Seal ``buffer`` (first attempt: sorted sources, token) and write it."""
        if not buffer.token:
            buffer.sources = sorted(set(buffer.sources))
            buffer.token = self.token(buffer.partition, tuple(buffer.sources))
        table = self.engine.concat(buffer.tables)
        return self.write(buffer.partition, table, buffer.token, tuple(buffer.sources))

    def _requeue(self, buffer: _Buffer) -> None:
        """Keep a failed (sealed) buffer for a retry of the very same file after a backoff."""
        buffer.attempts += 1
        buffer.retry_at = time.monotonic() + self._backoff(buffer.attempts)
        with self._lock:
            self._sealed.append(buffer)

    def _notify(self, written: list[WrittenFile]) -> None:
        if not written:
            return
        try:
            self.on_flushed(written)
        except Exception:  # the files are stored; a failing callback must not rewrite them
            log.exception("on_flushed callback failed for %d file(s)", len(written))

    # -- background flusher -----------------------------------------------------------------
    def start(self) -> None:
        """Start the flusher thread that enforces ``max_age_secs`` and retries."""
        if not self.enabled or self.running:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="otlp2parquet-flusher", daemon=True)
        self._thread.start()

    def _next_wait(self) -> float:
        now = time.monotonic()
        deadline = min((self._deadline(b) for b in self._all_locked()), default=math.inf)
        return max(0.0, min(deadline - now, self.max_age_secs))

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                wait = self._next_wait()
                if wait > 0:
                    self._wake.wait(wait)
                if self._stopping:
                    return
            try:
                self._flush(self._due)
            except Exception:  # a bug here must not stop age flushes for good
                log.exception("flusher cycle failed; retrying")
                time.sleep(self.retry_initial_secs)

    def close(self, timeout: float | None = None) -> None:
        """Stop the flusher and drain every buffer, retrying with backoff for up to
        ``timeout`` seconds (default ``retry_max_secs``); raise StorageError if rows remain."""
        if self._thread is not None:
            with self._lock:
                self._stopping = True
                self._wake.notify_all()
            self._thread.join()
            self._thread = None
        deadline = time.monotonic() + (self.retry_max_secs if timeout is None else timeout)
        attempt = 0
        while True:
            try:
                self.flush()
                return
            except StorageError:
                attempt += 1
                pause = self._backoff(attempt)
                if time.monotonic() + pause > deadline:
                    log.error("closing with %d row(s) unwritten", self.buffered_rows)
                    raise
                time.sleep(pause)
