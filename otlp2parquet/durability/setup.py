"""``durability.*``: where the server's spool lives, opening it, and replaying what it holds.

The spool is on by default for the server (its platform defaults set ``durability.enabled``)
and off everywhere else: Lambda and Cloudflare never open one. ``spool_dir = ""`` means a
hidden ``.spool`` directory inside ``storage.fs.path`` for the ``fs`` backend (readers skip
it: Hive-style engines ignore dot-directories, ``**/*.parquet`` globs match no spool file),
and ``./.otlp2parquet-spool`` for remote stores. When that default location cannot be used the
server logs a warning and runs without a spool; a spool asked for explicitly must work.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otlp2parquet.durability.none import NO_DURABILITY
from otlp2parquet.durability.replay import replay
from otlp2parquet.durability.spool import Spool
from otlp2parquet.errors import ConfigError
from otlp2parquet.types import Durability

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config
    from otlp2parquet.durability.segment import DataRecord, SegmentScan
    from otlp2parquet.pipeline.core import Pipeline
    from otlp2parquet.types import Partition

log = logging.getLogger(__name__)

LOCAL_BACKENDS = frozenset({"fs", "file", "filesystem"})
REMOTE_DEFAULT = ".otlp2parquet-spool"


def spool_directory(config: Config) -> Path | None:
    """The configured or derived spool directory; None for the ``memory`` backend (nothing
    there survives a restart anyway)."""
    configured = str(config.get("durability.spool_dir") or "")
    if configured:
        return Path(configured).expanduser()
    backend = str(config.get("storage.backend"))
    if backend in LOCAL_BACKENDS:
        return Path(str(config.get("storage.fs.path"))).expanduser() / ".spool"
    if backend == "memory":
        return None
    return Path(REMOTE_DEFAULT)


def open_durability(config: Config) -> tuple[Durability, list[SegmentScan]]:
    """The spool ``durability.*`` asks for, opened (locked, its segments scanned), with what
    it holds; ``NoDurability`` and nothing when the spool is off or cannot be had."""
    settings = config.section("durability")
    explicit = config.explicit("durability.enabled") or config.explicit("durability.spool_dir")
    if not settings.get("enabled"):
        return NO_DURABILITY, []
    if not config.get("batch.enabled"):
        log.info("durable spool off: batch.enabled is false, so every request is written first")
        return NO_DURABILITY, []
    directory = spool_directory(config)
    if directory is None:
        log.info("durable spool off: the memory backend keeps nothing across restarts")
        return NO_DURABILITY, []
    spool = Spool(
        directory,
        fsync=str(settings["fsync"]),
        fsync_interval_secs=float(settings["fsync_interval_secs"]),
        max_bytes=int(settings["max_spool_bytes"]),
        segment_bytes=int(settings["segment_bytes"]),
    )
    try:
        scans = spool.open()
    except ConfigError as exc:
        if explicit:
            raise
        log.warning("running without a durable spool: %s", exc)
        return NO_DURABILITY, []
    log.info(
        "durable spool at %s (fsync %s, up to %d bytes)",
        directory,
        spool.fsync,
        spool.max_bytes,
        extra={"spool_dir": str(directory), "spool": spool.stats()},
    )
    return spool, scans


def replay_into(pipeline: Pipeline, scans: list[SegmentScan]) -> None:
    """Put every request the spool held but had not written back into ``pipeline``'s
    batcher (before it starts), rebuilt by the pipeline exactly as ``ingest`` made it."""
    spool = pipeline.spool
    if spool is not None:

        def rebuild(record: DataRecord) -> list[tuple[Partition, Any]]:
            return pipeline.rebuild(record.signal, record.media_type, record.body)

        replay(spool, scans, rebuild, pipeline.batcher)
