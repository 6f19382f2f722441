"""The Worker's logic: OTLP/HTTP through the shared ``OtlpHttp`` core, each request written to R2
at once, or validated here and buffered in the ``OtlpBatcher`` Durable Object; KV receipts of
written files and their sync into the catalog from the cron trigger.

The catalog is never committed to inside a request: the in-request pipeline runs with
``catalog_mode = "none"`` and, when the configured mode is not ``none``, every written file gets a
KV receipt ``pending:{timestamp_ms}:{uuid}`` (binding ``PENDING_FILES``) that ``sync_catalog``
commits (``catalog.make_catalog``: Iceberg through its REST protocol, or the configured catalog
component) and deletes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from otlp2parquet import hookimpl
from otlp2parquet.config.layers import Config, Layer
from otlp2parquet.durability import receipts as rc
from otlp2parquet.errors import CatalogError, StorageError
from otlp2parquet.http.bodies import check_size
from otlp2parquet.types import IngestResult, Partition, WrittenFile

from . import boundary
from .catalog import ICEBERG, make_catalog
from .storage import KvReceiptStore, env_binding, use_env

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.pipeline.core import Pipeline

log = logging.getLogger(__name__)

DETECT_ENV = "CF_WORKER"
BATCHER_BINDING = "OTLP_BATCHER"
RECEIPTS_BINDING = "PENDING_FILES"
SELF_BINDING = "SELF"
RECEIPT_PREFIX = "pending:"
INGEST_URL = "https://otlp-batcher.internal/ingest"
SIGNAL_HEADER = "x-otlp2parquet-signal"
ROWS_HEADER = "x-otlp2parquet-rows"


def load_runtime(env: Any, batching: bool | None = None) -> tuple[Runtime, str, bool]:
    """Bootstrap from the Worker's variables. Returns the runtime, the configured catalog mode
    and whether batching (in the Durable Object) is on; the runtime's own pipeline has no
    catalog, and buffers only when ``batching`` is passed as True (the Durable Object)."""
    from otlp2parquet.assembly import bootstrap

    use_env(env)
    variables = boundary.env_vars(env)
    variables.setdefault(DETECT_ENV, "1")  # the adapter is Cloudflare by definition
    seen: dict[str, Any] = {}

    def adapter_layer(config: Config) -> Layer:
        """Catalog from the cron trigger, batching in the Durable Object (or not at all)."""
        seen["mode"] = str(config.get("catalog_mode") or "none")
        on = batching
        if on is None:
            on = bool(config.get("batch.enabled"))
            if on and boundary.binding(env, BATCHER_BINDING) is None:
                log.warning(
                    "batch.enabled is true but the Worker has no %s Durable Object binding; "
                    "writing each request at once",
                    BATCHER_BINDING,
                )
                on = False
        seen["batching"] = on
        origin = "the Cloudflare adapter (catalog from the cron trigger; batching in OtlpBatcher)"
        return Layer("cli", {"catalog_mode": "none", "batch": {"enabled": on}}, origin)

    runtime = bootstrap(env=variables, adjust=[adapter_layer])
    return runtime, seen["mode"], seen["batching"]


def make_pipeline(runtime: Runtime, fresh: bool = False) -> Pipeline:
    """The Worker's pipeline over the table engine ``parquet.engine`` picks (``auto``: pyarrow
    when it can be imported, else the pure-Python one, as in Cloudflare's Python Workers): the
    runtime's pyarrow pipeline, or a new one when ``fresh`` or for the lite engine."""
    from otlp2parquet.engine import choose_engine

    engine = choose_engine(runtime.config)
    log.debug("Parquet engine: %s", engine)
    if engine == "lite" or fresh:
        return runtime.new_pipeline(engine)
    return runtime.pipeline()


def written_from_pending(table: str, pending: rc.PendingFile) -> WrittenFile:
    partition = Partition(table, pending.service, pending.bucket_start_us)
    return WrittenFile(
        key=pending.key,
        url=pending.url,
        table=table,
        rows=pending.rows,
        bytes=pending.bytes,
        partition=partition,
        min_ts_us=pending.min_ts_us,
        max_ts_us=pending.max_ts_us,
        catalog="pending",
    )


def write_receipts(store: rc.ReceiptStore, files: Iterable[WrittenFile]) -> list[str]:
    """One KV receipt per table; returns their keys."""
    by_table: dict[str, list[rc.PendingFile]] = {}
    for written in files:
        by_table.setdefault(written.table, []).append(rc.PendingFile.from_written(written))
        written.catalog = "pending"
    return [
        rc.create(store, table, pending, RECEIPT_PREFIX, sep=":", suffix="").key
        for table, pending in by_table.items()
    ]


def encode_files(files: Sequence[WrittenFile]) -> str:
    """The ``SELF.record_receipts`` payload."""
    out = []
    for written in files:
        pending = rc.PendingFile.from_written(written)
        out.append({"table": written.table, **pending.__dict__})
    return json.dumps(out, separators=(",", ":"))


def decode_files(payload: str) -> list[WrittenFile]:
    try:
        items = json.loads(payload)
        return [written_from_pending(str(i.pop("table")), rc.PendingFile(**i)) for i in items]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed receipts payload: {exc}") from None


class ReceiptWriter:
    """``on_batch_written`` observer: a KV receipt for every file the Worker writes."""

    def __init__(self, store: rc.ReceiptStore) -> None:
        self.store = store

    @hookimpl
    def on_batch_written(self, result: WrittenFile) -> None:
        write_receipts(self.store, [result])


class DurableForwarder:
    """In ``OtlpHttp``'s place of the pipeline when batching: the pipeline's decode and map
    stages run here (statuses and partial success are answered at once), then the body goes to
    the signal's ``OtlpBatcher`` Durable Object, whose own pipeline buffers it and writes it."""

    def __init__(self, pipeline: Pipeline, namespace: Any) -> None:
        self.pipeline = pipeline
        self.namespace = namespace
        self.decoders = pipeline.decoders

    @property
    def media_types(self) -> list[str]:
        return self.pipeline.media_types

    def check_ready(self) -> None:
        self.pipeline.check_ready()

    def ingest(
        self, signal: str, body: bytes, content_type: str | None, encoding: str | None = None
    ) -> IngestResult:
        mapped = self.pipeline.map(
            signal, self.pipeline.decode(signal, body, content_type, encoding)
        )
        if mapped.rows:
            headers = {
                "content-type": content_type or "",
                "content-encoding": encoding or "",
                SIGNAL_HEADER: signal,
                ROWS_HEADER: str(mapped.rows),
            }
            request = boundary.make_request(INGEST_URL, "POST", headers, body)
            try:
                stub = self.namespace.get(self.namespace.idFromName(signal))
                status, text = boundary.wait(_send(stub, request))
            except Exception as exc:  # unreachable object: the client retries (503)
                raise StorageError(f"the {signal} OtlpBatcher is unreachable: {exc}") from exc
            if status != 200:
                raise StorageError(f"the {signal} OtlpBatcher refused the request: {text}")
        return IngestResult(mapped.rows, mapped.rejected, list(mapped.reasons))


async def _send(stub: Any, request: Any) -> tuple[int, str]:
    return await boundary.response_parts(await stub.fetch(request))


class WorkerApp:
    """One isolate's runtime, bootstrapped on its first event and kept."""

    def __init__(self, env: Any) -> None:
        from otlp2parquet.http.otlp import OtlpHttp

        self.env = env
        self.runtime, self.catalog_mode, self.batching = load_runtime(env)
        self.pipeline = make_pipeline(self.runtime)
        self.receipts: KvReceiptStore | None = None
        if self.catalog_mode == ICEBERG:  # a misconfigured catalog fails the bootstrap, loudly
            make_catalog(self.runtime, ICEBERG, self.pipeline.storage, self.pipeline.schemas)
        if self.catalog_mode != "none":
            self.receipts = KvReceiptStore(env_binding(RECEIPTS_BINDING, "the catalog receipts"))
            if not self.batching:
                self.runtime.pm.register(ReceiptWriter(self.receipts), name="cloudflare-receipts")
        target: Any = self.pipeline
        if self.batching:
            target = DurableForwarder(self.pipeline, env_binding(BATCHER_BINDING, "batching"))
        self.http = OtlpHttp.from_config(self.runtime.config, target, self.runtime.telemetry)

    async def fetch(self, request: Any) -> Any:
        method, url, headers = await boundary.read_request(request)

        def read(limit: int) -> bytes:
            data = boundary.wait(boundary.read_body(request))
            check_size(len(data), limit, "as sent")
            return bytes(data)

        response = self.http.handle(method, urlsplit(url).path, headers, read)
        return boundary.make_response(response.status, response.headers, response.body)

    def record_receipts(self, payload: str) -> int:
        """``SELF.record_receipts``: the batcher's written files become KV receipts."""
        files = decode_files(payload)
        if self.receipts is None:
            log.info("catalog_mode is none: %d file(s) need no receipt", len(files))
            return 0
        write_receipts(self.receipts, files)
        return len(files)

    def sync_catalog(self) -> dict[str, int]:
        """The cron trigger: commit every pending receipt, one commit per table."""
        report = {"receipts": 0, "committed": 0, "failed": 0, "unreadable": 0}
        if self.receipts is None:
            return report
        found, unreadable = rc.load_all(self.receipts, RECEIPT_PREFIX, suffix="")
        report["receipts"], report["unreadable"] = len(found), len(unreadable)
        for key, reason in unreadable:
            log.warning("skipping unreadable receipt %s: %s", key, reason)
        if not found:
            return report
        catalog = make_catalog(
            self.runtime, self.catalog_mode, self.pipeline.storage, self.pipeline.schemas
        )
        by_table: dict[str, list[rc.Receipt]] = {}
        for receipt in found:
            by_table.setdefault(receipt.table, []).append(receipt)
        try:
            for table, group in by_table.items():
                files = [written_from_pending(table, p) for p in rc.unique_files(group)]
                try:
                    catalog.commit(files)
                except CatalogError as exc:
                    log.warning("catalog sync of %d %s file(s) failed: %s", len(files), table, exc)
                    report["failed"] += len(files)
                    for receipt in group:
                        rc.record_failure(self.receipts, receipt, str(exc))
                    continue
                report["committed"] += len(files)
                rc.remove(self.receipts, group)
        finally:
            catalog.close()
        log.info("catalog sync: %s", report, extra=report)
        return report


class Isolate:
    """Holds the isolate's app: bootstrapped on its first event (again after a failed
    bootstrap) and kept for the next ones."""

    def __init__(self) -> None:
        self.app: WorkerApp | None = None

    def get(self, env: Any, factory: Callable[[Any], WorkerApp] = WorkerApp) -> WorkerApp:
        app = self.app
        if app is None:
            app = self.app = factory(env)
        return app

    def reset(self) -> None:
        self.app = None


#: This isolate's holder, created at import.
ISOLATE = Isolate()


def get_app(env: Any, factory: Callable[[Any], WorkerApp] = WorkerApp) -> WorkerApp:
    """The isolate's app, bootstrapped on its first event (again after a failed bootstrap)."""
    return ISOLATE.get(env, factory)


def reset() -> None:
    """Forget the isolate's app (tests; a new configuration)."""
    ISOLATE.reset()
