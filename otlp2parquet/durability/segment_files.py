"""The spool's files: appending records to the active segment, rotating, syncing, deleting,
and the directory lock.

``fsync``: ``always`` syncs before an append is acknowledged (concurrent appends share one
fsync: whoever syncs covers everything written before it), ``interval`` syncs every
``fsync_interval_secs`` in a background thread, ``never`` leaves it to the OS (a killed process
loses nothing; a power cut may). Every method except ``sync`` and ``close`` expects the caller
to hold ``lock`` (the spool's lock).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from otlp2parquet.durability.segment import MAGIC, segment_name
from otlp2parquet.errors import StorageError

log = logging.getLogger(__name__)

FSYNC_MODES = ("always", "interval", "never")


class SegmentWriter:
    """Owns the segment files of one spool directory."""

    def __init__(
        self,
        directory: Path,
        lock: threading.Lock,
        fsync: str = "always",
        fsync_interval_secs: float = 1.0,
        segment_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        if fsync not in FSYNC_MODES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_MODES)}, not {fsync!r}")
        self.directory = directory
        self.lock = lock
        self.fsync = fsync
        self.fsync_interval_secs = fsync_interval_secs
        self.segment_bytes = segment_bytes
        self.sizes: dict[int, int] = {}  # live segment → bytes
        self.active = 0  # the segment appended to (when ``open_fd``)
        self.next_segment = 1
        self._fd: int | None = None
        self._retired: list[int] = []  # closed for appends, awaiting a final fsync
        self._new_dir_entry = False
        self._written = self._synced = 0  # append tickets
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None

    @property
    def open_fd(self) -> bool:
        return self._fd is not None

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())

    def adopt(self, number: int, size: int) -> None:
        """A segment found on disk (never appended to again)."""
        self.sizes[number] = size
        self.next_segment = max(self.next_segment, number + 1)

    def start(self) -> None:
        if self.fsync == "interval":
            self._syncer = threading.Thread(
                target=self._sync_loop, name="otlp2parquet-spool-sync", daemon=True
            )
            self._syncer.start()

    # -- writing (lock held) ---------------------------------------------------------------
    def write(self, record: bytes) -> int:
        """Append one record; returns its ticket for ``sync``. StorageError when the disk
        refuses; the refused write leaves nothing behind (``_undo``)."""
        try:
            if self._fd is None:
                self.active, self.next_segment = self.next_segment, self.next_segment + 1
                path = self.directory / segment_name(self.active)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
                self._fd = os.open(path, flags, 0o600)
                self.sizes[self.active] = 0
                self._new_dir_entry = True
                _write_all(self._fd, MAGIC)
                self.sizes[self.active] = len(MAGIC)
            _write_all(self._fd, record)
        except OSError as exc:
            self._undo()
            raise StorageError(f"cannot write the spool in {self.directory}: {exc}") from exc
        self.sizes[self.active] += len(record)
        self._written += 1
        ticket = self._written
        if self.sizes[self.active] >= self.segment_bytes:
            self.retire()
        return ticket

    def _undo(self) -> None:
        """After a write the disk refused: cut the torn tail off the active segment and stop
        appending to it, or remove it when it holds no record (a full disk would otherwise
        leave one empty segment per refused request). If even that fails, a torn record can
        still only end a segment, which replay handles as damage."""
        if self._fd is None:
            return
        number, size = self.active, self.sizes.get(self.active, 0)
        try:
            if size <= len(MAGIC):
                os.close(self._fd)
                self._fd = None
                (self.directory / segment_name(number)).unlink()
                self.sizes.pop(number, None)
                return
            os.ftruncate(self._fd, size)
        except OSError as exc:
            log.warning("could not undo a refused spool write in segment %d: %s", number, exc)
        self.retire()

    def retire(self) -> None:
        """Stop appending to the active segment; the next write starts a new one."""
        if self._fd is None:
            return
        if self.fsync == "never":
            os.close(self._fd)
        else:
            self._retired.append(self._fd)  # closed by the next sync, after its fsync
        self._fd = None

    def delete(self, number: int) -> None:
        if number == self.active:
            self.retire()
        try:
            (self.directory / segment_name(number)).unlink()
        except FileNotFoundError:
            log.debug("spool segment %d was already gone", number)
        self.sizes.pop(number, None)
        if self.fsync != "never":
            _sync_dir(self.directory)  # a deletion must not be undone by a power cut

    # -- syncing (lock not held) ------------------------------------------------------------
    def sync(self, ticket: int, force: bool = False) -> None:
        """fsync up to ``ticket``; one caller syncs for everyone waiting. StorageError when
        the disk refuses (the data is not durable: it must not be acknowledged)."""
        with self._sync_lock:
            if self._synced >= ticket and not force:
                return
            with self.lock:
                target, fd = self._written, self._fd
                retired, self._retired = self._retired, []
                new_entry, self._new_dir_entry = self._new_dir_entry, False
            try:
                for old in retired:
                    try:
                        os.fsync(old)
                    finally:
                        os.close(old)
                if fd is not None and self.fsync != "never":
                    os.fsync(fd)
                if new_entry and self.fsync != "never":
                    _sync_dir(self.directory)
            except OSError as exc:
                raise StorageError(f"cannot sync the spool in {self.directory}: {exc}") from exc
            self._synced = target

    def close(self) -> None:
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join()
        with self.lock:
            self.retire()
        self.sync(self._written, force=True)

    def stop_syncing(self) -> None:
        """Stop the background fsync thread without syncing (what a crash leaves)."""
        self._stop.set()

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.fsync_interval_secs):
            try:
                self.sync(self._written)
            except StorageError:  # a failing disk must not end the loop; it is logged
                log.exception("periodic spool fsync failed")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def lock_directory(path: Path) -> int:
    """An exclusive lock on ``path``, held until the descriptor is closed."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OSError(f"{path.parent} is in use by another otlp2parquet process") from None
    return fd
