"""The ``OtlpBatcher`` Durable Object's logic: buffer request bodies durably, write them as few
large Parquet files when ``batch.max_rows``/``batch.max_bytes`` is reached or when the alarm
fires ``batch.max_age_secs`` after the first buffered request.

Bodies are kept in the object's storage (chunks of at most 128 KiB, the value limit of the
key-value storage API) with a JSON manifest, so an evicted or restarted object loses nothing. A
flush feeds every buffered body through a fresh pipeline with batching on and drains it: one file
per table, service and hour. Durable Objects do not reach KV here, so the written files are handed
to the Worker through its ``SELF`` service binding (``record_receipts``), from a durable outbox
that is retried until the Worker takes them.

Delivery is at least once: a flush that fails part-way is retried whole by the alarm (files
written before the failure may be written again); nothing acknowledged is dropped, except a body
that can no longer be decoded (logged).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from otlp2parquet import hookimpl
from otlp2parquet.errors import DecodeError, Otlp2ParquetError, UnsupportedMediaType
from otlp2parquet.http.errors import status_of
from otlp2parquet.types import WrittenFile

from . import boundary
from .worker import (
    ROWS_HEADER,
    SELF_BINDING,
    SIGNAL_HEADER,
    encode_files,
    load_runtime,
    make_pipeline,
)

log = logging.getLogger(__name__)

CHUNK = 128 * 1024
MANIFEST = "manifest"
OUTBOX = "outbox"


def _empty() -> dict[str, Any]:
    return {"next_id": 0, "entries": [], "rows": 0, "bytes": 0, "first_ms": 0}


class _Collector:
    def __init__(self) -> None:
        self.files: list[WrittenFile] = []

    @hookimpl
    def on_batch_written(self, result: WrittenFile) -> None:
        self.files.append(result)


class Batcher:
    """What ``OtlpBatcher`` (deploy/cloudflare/src/entry.py) does; ``ctx.storage`` is the
    object's storage, with ``get``/``put``/``delete`` and ``getAlarm``/``setAlarm``."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.storage = ctx.storage
        self.env = env
        self._runtime: Any = None
        self._catalog_mode = "none"
        self._flushing = False

    def runtime(self) -> Any:
        if self._runtime is None:
            self._runtime, self._catalog_mode, _ = load_runtime(self.env, batching=True)
        return self._runtime

    # -- the object's handlers -----------------------------------------------------------------
    async def fetch(self, request: Any) -> Any:
        method, url, headers = await boundary.read_request(request)
        if method != "POST" or urlsplit(url).path != "/ingest":
            return boundary.make_response(404, [], b"OtlpBatcher accepts POST /ingest only")
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            self.runtime()
            rows = int(lowered.get(ROWS_HEADER) or 0)
            await self.add(
                lowered.get(SIGNAL_HEADER, ""),
                lowered.get("content-type", ""),
                lowered.get("content-encoding", ""),
                await boundary.read_body(request),
                rows,
            )
        except (Otlp2ParquetError, ValueError) as exc:
            log.warning("OtlpBatcher could not buffer a request: %s", exc)
            status = status_of(exc) if isinstance(exc, Otlp2ParquetError) else 400
            return boundary.make_response(status, [], str(exc).encode())
        return boundary.make_response(200, [], b"")

    async def alarm(self) -> None:
        """Flush; an exception makes the runtime retry the alarm with backoff."""
        await self.flush()

    # -- buffering -----------------------------------------------------------------------------
    async def add(
        self, signal: str, content_type: str, encoding: str, body: bytes, rows: int
    ) -> None:
        if not signal:
            raise ValueError(f"missing {SIGNAL_HEADER} header")
        manifest = await self._manifest()
        entry_id = manifest["next_id"]
        chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)] or [b""]
        for n, chunk in enumerate(chunks):
            await self.storage.put(_chunk_key(entry_id, n), boundary.to_js_bytes(chunk))
        manifest["next_id"] = entry_id + 1
        manifest["entries"].append(
            {
                "id": entry_id,
                "signal": signal,
                "content_type": content_type,
                "encoding": encoding,
                "chunks": len(chunks),
                "rows": rows,
                "bytes": len(body),
            }
        )
        manifest["rows"] += rows
        manifest["bytes"] += len(body)
        manifest["first_ms"] = manifest["first_ms"] or _now_ms()
        await self.storage.put(MANIFEST, json.dumps(manifest))
        batch = self.runtime().config.section("batch")
        if manifest["rows"] >= batch["max_rows"] or manifest["bytes"] >= batch["max_bytes"]:
            try:
                await self.flush()
            except Otlp2ParquetError as exc:  # the body is stored: the alarm retries the write
                log.warning("OtlpBatcher flush failed; the alarm retries it: %s", exc)
                await self.storage.setAlarm(_now_ms() + 1000)
        elif await self.storage.getAlarm() is None:
            await self.storage.setAlarm(manifest["first_ms"] + int(batch["max_age_secs"] * 1000))

    async def flush(self) -> list[WrittenFile]:
        """Write every buffered body; returns the files written."""
        if self._flushing:
            return []
        self._flushing = True
        try:
            manifest = await self._manifest()
            written = await self._write(manifest["entries"]) if manifest["entries"] else []
            if written and self._catalog_mode != "none":
                outbox = json.loads(await self.storage.get(OUTBOX) or "[]")
                outbox.extend(json.loads(encode_files(written)))
                await self.storage.put(OUTBOX, json.dumps(outbox))
            await self._forget({e["id"]: e["chunks"] for e in manifest["entries"]})
            await self._send_outbox()
        finally:
            self._flushing = False
        if (await self._manifest())["entries"] or await self.storage.get(OUTBOX):
            age = float(self.runtime().config.get("batch.max_age_secs"))
            await self.storage.setAlarm(_now_ms() + int(age * 1000))
        return written

    async def _write(self, entries: list[dict[str, Any]]) -> list[WrittenFile]:
        runtime = self.runtime()
        pipeline = make_pipeline(runtime, fresh=True)
        collector = _Collector()
        name = f"cloudflare-batcher-{id(collector)}"
        runtime.pm.register(collector, name=name)
        try:
            for entry in entries:
                body = b"".join(
                    [
                        boundary.to_py_bytes(await self.storage.get(_chunk_key(entry["id"], n)))
                        for n in range(entry["chunks"])
                    ]
                )
                try:
                    pipeline.ingest(
                        entry["signal"], body, entry["content_type"] or None, entry["encoding"]
                    )
                except (DecodeError, UnsupportedMediaType) as exc:
                    log.error(
                        "dropping buffered %s request %d: %s", entry["signal"], entry["id"], exc
                    )
            pipeline.flush()
        finally:
            runtime.pm.unregister(name=name)
        log.info(
            "OtlpBatcher flushed %d request(s) into %d file(s)", len(entries), len(collector.files)
        )
        return collector.files

    async def _forget(self, chunks: dict[int, int]) -> None:
        """Drop written entries (keeping any added while the flush ran)."""
        for entry_id, count in chunks.items():
            for n in range(count):
                await self.storage.delete(_chunk_key(entry_id, n))
        manifest = await self._manifest()
        kept = [e for e in manifest["entries"] if e["id"] not in chunks]
        manifest["entries"] = kept
        manifest["rows"] = sum(e["rows"] for e in kept)
        manifest["bytes"] = sum(e["bytes"] for e in kept)
        manifest["first_ms"] = _now_ms() if kept else 0
        await self.storage.put(MANIFEST, json.dumps(manifest))

    async def _send_outbox(self) -> None:
        raw = await self.storage.get(OUTBOX)
        if not raw:
            return
        service = boundary.binding(self.env, SELF_BINDING)
        if service is None:
            log.error("no %s service binding: written files wait in the outbox", SELF_BINDING)
            return
        try:
            await service.record_receipts(str(raw))
        except Exception as exc:  # kept in the outbox and retried by the next alarm
            log.warning("SELF.record_receipts failed; retrying later: %s", exc)
            return
        await self.storage.delete(OUTBOX)

    async def _manifest(self) -> dict[str, Any]:
        raw = await self.storage.get(MANIFEST)
        return json.loads(str(raw)) if raw else _empty()


def _chunk_key(entry_id: int, n: int) -> str:
    return f"body:{entry_id:012d}:{n:05d}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
