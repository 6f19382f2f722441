"""Batching in the OtlpBatcher Durable Object (stood-in storage and alarms): bodies buffered
durably, one file per table/service/hour on the alarm or at max_rows, receipts through the SELF
service binding, failures retried without loss."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from otlp2parquet.durability import receipts as rc
from otlp2parquet.plugins.platform_cloudflare import boundary, handlers
from otlp2parquet.plugins.platform_cloudflare.batcher import CHUNK, MANIFEST, OUTBOX
from support.cloudflare_standins import BindingFailure, ServiceBinding, now_ms
from support.cloudflare_support import fetch, make_env, parquet_keys, pb_logs, request, rows

pytestmark = pytest.mark.usefixtures("fresh_worker")


def storage(env: Any, signal: str = "logs") -> Any:
    return env.OTLP_BATCHER.states[signal].storage


def manifest(env: Any) -> dict[str, Any]:
    return json.loads(storage(env).data.get(MANIFEST) or '{"entries": []}')


def test_requests_are_buffered_and_written_as_one_file_on_the_alarm() -> None:
    env = make_env(batching=True, catalog=True)
    before = now_ms()
    for _ in range(2):
        response = fetch(env, request("/v1/logs", pb_logs()))
        assert response.status == 200, response.body
    assert parquet_keys(env) == []
    assert len(manifest(env)["entries"]) == 2 and manifest(env)["rows"] == 6
    assert before + 5000 <= storage(env).alarm <= now_ms() + 5000  # batch.max_age_secs = 5
    asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    (key,) = parquet_keys(env)
    assert key.startswith("logs/checkout/") and rows(env, key) == 6
    assert manifest(env)["entries"] == [] and storage(env).alarm is None
    assert set(storage(env).data) == {MANIFEST}  # bodies and outbox are gone
    # the receipt came back through SELF.record_receipts and is synced by the cron handler
    (receipt_key,) = env.PENDING_FILES.values
    assert rc.decode(env.PENDING_FILES.values[receipt_key].encode()).files[0].key == key
    assert asyncio.run(handlers.scheduled(env))["committed"] == 1


def test_max_rows_flushes_at_once() -> None:
    env = make_env(batching=True, OTLP2PARQUET_BATCH_MAX_ROWS="5")
    fetch(env, request("/v1/logs", pb_logs()))
    assert parquet_keys(env) == []
    fetch(env, request("/v1/logs", pb_logs("cart")))
    assert len(parquet_keys(env)) == 2  # two services: two files
    assert manifest(env)["entries"] == []


def test_partial_success_is_answered_by_the_worker() -> None:
    env = make_env(batching=True)
    response = fetch(env, request("/v1/logs", b"", content_type="application/json"))
    assert response.status == 200
    assert "OTLP_BATCHER" in vars(env) and env.OTLP_BATCHER.objects == {}  # nothing to buffer


def test_large_bodies_are_chunked() -> None:
    env = make_env(batching=True)
    body = pb_logs(count=2, text="x" * (CHUNK + 1000))
    assert fetch(env, request("/v1/logs", body)).status == 200
    (entry,) = manifest(env)["entries"]
    assert entry["chunks"] == -(-len(body) // CHUNK) == 3 and entry["bytes"] == len(body)
    asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    assert rows(env, parquet_keys(env)[0]) == 2


def test_failed_write_keeps_the_bodies_for_the_alarm_retry() -> None:
    env = make_env(batching=True)
    fetch(env, request("/v1/logs", pb_logs()))
    env.OTLP_BUCKET.failing.add("put")
    with pytest.raises(Exception, match="R2 put failed"):
        asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    assert len(manifest(env)["entries"]) == 1
    env.OTLP_BUCKET.failing.clear()
    storage(env).alarm = now_ms()  # the runtime retries a failed alarm
    asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    assert len(parquet_keys(env)) == 1 and manifest(env)["entries"] == []


def test_failed_inline_flush_still_acknowledges_and_sets_the_alarm() -> None:
    env = make_env(batching=True, OTLP2PARQUET_BATCH_MAX_ROWS="1")
    env.OTLP_BUCKET.failing.add("put")
    assert fetch(env, request("/v1/logs", pb_logs())).status == 200  # stored durably
    assert len(manifest(env)["entries"]) == 1 and storage(env).alarm is not None


def test_receipts_wait_in_the_outbox_while_self_fails() -> None:
    env = make_env(batching=True, catalog=True)

    async def down(payload: str) -> int:
        raise BindingFailure("SELF is down")

    working = env.SELF
    env.SELF = ServiceBinding(record_receipts=down)
    fetch(env, request("/v1/logs", pb_logs()))
    asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    assert len(parquet_keys(env)) == 1 and env.PENDING_FILES.values == {}
    assert len(json.loads(storage(env).data[OUTBOX])) == 1 and storage(env).alarm is not None
    env.SELF = working
    asyncio.run(env.OTLP_BATCHER.fire_alarm("logs"))
    assert OUTBOX not in storage(env).data and len(env.PENDING_FILES.values) == 1
    assert len(parquet_keys(env)) == 1  # nothing written twice


def test_unreachable_batcher_is_503() -> None:
    env = make_env(batching=True)

    class Broken:
        def idFromName(self, name: str) -> str:
            return name

        def get(self, object_id: str) -> Any:
            raise BindingFailure("no such object")

    env.OTLP_BATCHER = Broken()
    response = fetch(env, request("/v1/logs", pb_logs()))
    assert response.status == 503 and response.header("Retry-After")


def test_batcher_refuses_other_requests() -> None:
    env = make_env(batching=True)
    fetch(env, request("/v1/logs", pb_logs()))
    obj = env.OTLP_BATCHER.objects["logs"]
    other = boundary.HttpRequest("https://otlp-batcher.internal/else", "POST")
    assert asyncio.run(obj.fetch(other)).status == 404
    unlabeled = boundary.HttpRequest("https://otlp-batcher.internal/ingest", "POST", {}, b"x")
    response = asyncio.run(obj.fetch(unlabeled))
    assert response.status == 400 and b"x-otlp2parquet-signal" in response.body


def test_batching_without_the_binding_writes_directly(caplog: pytest.LogCaptureFixture) -> None:
    env = make_env(OTLP2PARQUET_BATCH_ENABLED="true")
    assert fetch(env, request("/v1/logs", pb_logs())).status == 200
    assert len(parquet_keys(env)) == 1 and "no OTLP_BATCHER" in caplog.text
