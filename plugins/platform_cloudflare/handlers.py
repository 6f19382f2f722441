"""What the Worker entry (deploy/cloudflare/src/entry.py) calls: ``fetch``, ``scheduled``,
``record_receipts`` and the ``OtlpBatcher`` Durable Object. A bootstrap that fails answers 503
(clients keep their data and retry) with the details in the Worker's log, and is retried on the
next event."""

from __future__ import annotations

import logging
from typing import Any

from otlp2parquet.errors import Otlp2ParquetError, Unavailable

from . import boundary
from .batcher import Batcher
from .worker import WorkerApp, get_app

log = logging.getLogger(__name__)

__all__ = ["Batcher", "fetch", "record_receipts", "scheduled"]


async def fetch(env: Any, request: Any) -> Any:
    try:
        app = get_app(env)
    except Otlp2ParquetError as exc:
        from otlp2parquet.http.responses import error_response

        log.error("cannot start otlp2parquet in this Worker: %s", exc)
        _, _, headers = await boundary.read_request(request)
        lowered = {k.lower(): v for k, v in headers.items()}
        unavailable = Unavailable("otlp2parquet cannot start; the Worker's log says why", 30)
        response = error_response(unavailable, lowered.get("content-type"))
        return boundary.make_response(response.status, response.headers, response.body)
    return await app.fetch(request)


async def scheduled(env: Any) -> dict[str, int]:
    """The cron trigger: pending KV receipts into the catalog."""
    app: WorkerApp = get_app(env)
    return app.sync_catalog()


async def record_receipts(env: Any, payload: str) -> int:
    """``SELF.record_receipts`` (service-binding RPC) from ``OtlpBatcher``."""
    return get_app(env).record_receipts(payload)
