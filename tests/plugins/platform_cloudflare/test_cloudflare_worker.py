"""The Cloudflare Worker under CPython, with stood-in bindings (tests/cloudflare_standins.py):
same routes, statuses and OTLP responses as the server, Parquet written through the R2 binding,
basic auth, KV receipts and their sync into the catalog by the cron handler."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

from otlp2parquet.assembly import bootstrap
from otlp2parquet.durability import receipts as rc
from otlp2parquet.errors import ConfigError, StorageError
from otlp2parquet.plugins.platform_cloudflare import boundary, handlers, worker
from otlp2parquet.plugins.platform_cloudflare.storage import (
    KvReceiptStore,
    R2BindingStorage,
    use_env,
)
from support import recording_catalog
from support.cloudflare_standins import BindingFailure, KVNamespace, R2Bucket
from support.cloudflare_support import (
    PB,
    fetch,
    make_env,
    parquet_keys,
    pb_logs,
    request,
    rows,
)
from support.otlp_requests import logs_request

RECEIPT_KEY = re.compile(r"^pending:\d{13}:[0-9a-f]{32}$")


pytestmark = pytest.mark.usefixtures("fresh_worker")


def test_protobuf_logs_are_written_through_the_r2_binding() -> None:
    env = make_env()
    response = fetch(env, request("/v1/logs", pb_logs()))
    assert response.status == 200, response.body
    assert response.header("Content-Type") == PB
    logs_service_pb2.ExportLogsServiceResponse.FromString(response.body)
    (key,) = parquet_keys(env)
    assert key.startswith("logs/checkout/year=2024/month=05/day=01/hour=10/")
    assert rows(env, key) == 3


def test_json_gzip_and_prefix() -> None:
    env = make_env(OTLP2PARQUET_STORAGE_R2_BINDING_PREFIX="otel/")
    body = gzip.compress(logs_request())
    response = fetch(
        env, request("/v1/logs", body, content_type="application/json", content_encoding="gzip")
    )
    assert response.status == 200 and json.loads(response.body) == {}
    keys = parquet_keys(env)
    assert len(keys) == 4 and all(k.startswith("otel/logs/") for k in keys)


def server_response(env: Any, req: boundary.HttpRequest) -> Any:
    """The same request through the waitress server's falcon app, over the Worker's config."""
    import falcon.testing

    from otlp2parquet.http.otlp import OtlpHttp
    from otlp2parquet.plugins.platform_server.app import create_app

    app = worker.get_app(env)
    handler = OtlpHttp.from_config(app.runtime.config, app.pipeline)
    client = falcon.testing.TestClient(create_app(handler))
    path = req.url.removeprefix("https://otlp.example.workers.dev")
    return client.simulate_request(req.method, path, body=req.body, headers=req.headers)


ERRORS = [
    ("/v2/logs", "POST", pb_logs(), {}, 404),
    ("/v1/logs", "GET", b"", {}, 405),
    ("/health", "POST", b"", {}, 405),
    ("/v1/logs", "POST", b"x", {"content_type": "text/plain"}, 415),
    ("/v1/logs", "POST", b"x", {"content_encoding": "br"}, 415),
    ("/v1/logs", "POST", b"\xff\xff\xff", {}, 400),
    ("/v1/logs", "POST", b"\0" * 2048, {}, 413),
    ("/v1/logs", "POST", gzip.compress(b"\0" * 4096), {"content_encoding": "gzip"}, 413),
]


@pytest.mark.parametrize(("path", "method", "body", "headers", "status"), ERRORS)
def test_errors_match_the_server(
    path: str, method: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    env = make_env(OTLP2PARQUET_MAX_PAYLOAD_BYTES="1024")
    req = request(path, body, method, **headers)
    response = fetch(env, req)
    expected = server_response(env, req)
    assert response.status == expected.status_code == status
    assert response.body == expected.content
    assert response.header("Content-Type") == expected.headers["content-type"]
    assert parquet_keys(env) == []


def test_health_and_ready() -> None:
    env = make_env()
    assert json.loads(fetch(env, request("/health", method="GET")).body) == {"status": "ok"}
    assert fetch(env, request("/ready", method="GET")).status == 200
    env.OTLP_BUCKET.failing.add("list")
    response = fetch(env, request("/ready", method="GET"))
    assert response.status == 503 and response.header("Retry-After")


def test_r2_failure_is_503_with_retry_after() -> None:
    env = make_env()
    env.OTLP_BUCKET.failing.add("put")
    response = fetch(env, request("/v1/logs", pb_logs()))
    assert response.status == 503 and response.header("Retry-After") == "5"


def test_basic_auth() -> None:
    env = make_env(
        OTLP2PARQUET_BASIC_AUTH_ENABLED="true",
        OTLP2PARQUET_BASIC_AUTH_USERNAME="otel",
        OTLP2PARQUET_BASIC_AUTH_PASSWORD="s3cret",
    )
    denied = fetch(env, request("/v1/logs", pb_logs()))
    assert denied.status == 401 and denied.header(
        "WWW-Authenticate",
    ).startswith("Basic")
    good = "Basic " + base64.b64encode(b"otel:s3cret").decode()
    assert fetch(env, request("/v1/logs", pb_logs(), Authorization=good)).status == 200


def test_bootstrap_failure_is_503_and_retried() -> None:
    env = make_env(OTLP2PARQUET_STORAGE_R2_BINDING_BINDING="MISSING")
    response = fetch(env, request("/v1/logs", pb_logs()))
    assert response.status == 503 and b"MISSING" not in response.body
    env.OTLP2PARQUET_STORAGE_R2_BINDING_BINDING = "OTLP_BUCKET"
    assert fetch(env, request("/v1/logs", pb_logs())).status == 200


def test_platform_detection_and_defaults(tmp_path: Path) -> None:
    """register_platforms: CF_WORKER selects cloudflare and its REFERENCE.md defaults."""
    runtime = bootstrap(env={"CF_WORKER": "1"}, cwd=tmp_path)
    assert runtime.platform == "cloudflare"
    config = runtime.config
    assert config.get("storage.backend") == "r2_binding"
    assert (config.get("batch.max_rows"), config.get("batch.max_bytes")) == (100000, 64 << 20)
    assert config.get("batch.max_age_secs") == 5
    assert config.get("request.max_payload_bytes") == 10 << 20
    assert config.get("plugins.autoload") is True  # declared; bootstrap still skips autoload
    assert config.get("storage.r2_binding.binding") == "OTLP_BUCKET"
    with pytest.raises(ConfigError, match="otlp2parquet deploy cloudflare"):
        runtime.registry.get("platform", "cloudflare").factory({}).run(runtime)


def test_storage_backend_is_registered_and_needs_its_binding(tmp_path: Path) -> None:
    """register_storage_backends: r2_binding exists; outside a Worker it names the binding."""
    runtime = bootstrap(env={"CF_WORKER": "1"}, cwd=tmp_path)
    component = runtime.registry.get("storage_backend", "r2_binding")
    assert component.plugin == "platform_cloudflare"
    with pytest.raises(ConfigError, match="OTLP_BUCKET"):
        component.factory({"binding": "OTLP_BUCKET"})
    use_env(make_env())
    with pytest.raises(ConfigError, match="'NOPE'"):
        component.factory({"binding": "NOPE"})


def test_r2_binding_storage_contract() -> None:
    bucket = R2Bucket(page_size=2)
    storage = R2BindingStorage(bucket, "otlp-data", "/a//b/", "OTLP_BUCKET")
    for i in range(5):
        storage.put(f"logs/x/{i}.parquet", b"data %d" % i)
    storage.put("other/y", b"y")
    assert sorted(bucket.objects)[0] == "a/b/logs/x/0.parquet"
    assert storage.get("logs/x/3.parquet") == b"data 3"
    assert storage.list("logs/") == [f"logs/x/{i}.parquet" for i in range(5)]  # three pages
    assert storage.url("logs/x/1.parquet") == "r2://otlp-data/a/b/logs/x/1.parquet"
    storage.delete("logs/x/0.parquet")
    assert len(storage.list()) == 5
    storage.check()
    with pytest.raises(StorageError, match="not found"):
        storage.get("missing")
    with pytest.raises(ValueError, match="refusing"):
        storage.put("../escape", b"")
    bucket.failing.add("get")
    with pytest.raises(StorageError, match="BindingFailure"):
        storage.get("other/y")


def test_kv_receipt_store_pages_and_missing_keys() -> None:
    kv = KVNamespace(page_size=2)
    store = KvReceiptStore(kv)
    for i in range(5):
        store.put(f"pending:{i}", b"{}")
    store.put("other", b"{}")
    assert store.list("pending:") == [f"pending:{i}" for i in range(5)]
    store.delete("pending:0")
    assert store.get("pending:1") == b"{}"
    with pytest.raises(KeyError):
        store.get("pending:0")


def test_receipts_are_written_and_synced_by_the_cron_handler() -> None:
    """on_batch_written (ReceiptWriter) writes pending:{ms}:{uuid}; scheduled commits them."""
    env = make_env(catalog=True)
    assert fetch(env, request("/v1/logs", pb_logs())).status == 200
    assert fetch(env, request("/v1/logs", pb_logs("cart"))).status == 200
    keys = sorted(env.PENDING_FILES.values)
    assert len(keys) == 2 and all(RECEIPT_KEY.match(k) for k in keys)
    receipt = rc.decode(env.PENDING_FILES.values[keys[0]].encode(), keys[0])
    assert receipt.table == "logs" and receipt.files[0].url.startswith("r2://otlp-data/logs/")
    report = asyncio.run(handlers.scheduled(env))
    assert report == {"receipts": 2, "committed": 2, "failed": 0, "unreadable": 0}
    (commit,) = recording_catalog.COMMITS
    assert {f.partition.service for f in commit} == {"checkout", "cart"}
    assert {f.key for f in commit} == set(parquet_keys(env))
    assert env.PENDING_FILES.values == {}


def test_failed_sync_keeps_receipts_with_the_error() -> None:
    env = make_env(catalog=True)
    fetch(env, request("/v1/logs", pb_logs()))
    env.PENDING_FILES.values["pending:0000000000001:bad"] = "not json"
    recording_catalog.FAIL.append("catalog is down")
    report = asyncio.run(handlers.scheduled(env))
    assert report["failed"] == 1 and report["unreadable"] == 1
    key = next(k for k in env.PENDING_FILES.values if RECEIPT_KEY.match(k))
    receipt = rc.decode(env.PENDING_FILES.values[key].encode())
    assert receipt.attempts == 1 and receipt.last_error == "catalog is down"
    recording_catalog.FAIL.clear()
    assert asyncio.run(handlers.scheduled(env))["committed"] == 1


def test_no_receipts_without_a_catalog() -> None:
    env = make_env()
    env.PENDING_FILES = KVNamespace()
    fetch(env, request("/v1/logs", pb_logs()))
    assert env.PENDING_FILES.values == {}
    assert asyncio.run(handlers.scheduled(env))["receipts"] == 0
    assert asyncio.run(handlers.record_receipts(env, "[]")) == 0


def test_catalog_without_its_kv_binding_fails_to_start() -> None:
    env = make_env(catalog=True)
    del env.PENDING_FILES
    assert fetch(env, request("/v1/logs", pb_logs())).status == 503


def test_malformed_receipt_payload_is_refused() -> None:
    env = make_env(catalog=True)
    with pytest.raises(ValueError, match="malformed"):
        asyncio.run(handlers.record_receipts(env, '[{"no": "table"}]'))


def test_boundary_fallbacks_under_cpython() -> None:
    assert boundary.IN_WORKER is False
    assert boundary.wait(42) == 42
    assert boundary.to_py_bytes(bytearray(b"ab")) == b"ab"
    assert boundary.env_vars(make_env())["CF_WORKER"] == "1"
    assert "OTLP_BUCKET" not in boundary.env_vars(make_env())

    async def failing() -> None:
        raise BindingFailure("boom")

    with pytest.raises(BindingFailure):
        boundary.wait(failing())
