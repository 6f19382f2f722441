"""Auth, CORS and draining in the shared OTLP/HTTP core, through the falcon app."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest
from google.rpc import code_pb2

from otlp2parquet.http.auth import Authenticator
from otlp2parquet.types import IngestResult
from support.server_fakes import JSON, FakePipeline, make_client, make_handler, post, status_of


@pytest.fixture
def pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def client(pipeline: FakePipeline) -> Any:
    return make_client(pipeline)


# -- draining -------------------------------------------------------------------------------
def test_draining_refuses_ingest_with_503_and_is_not_ready(pipeline: FakePipeline) -> None:
    handler = make_handler(pipeline)
    client = make_client(pipeline, handler=handler)
    assert handler.wait_idle(0.1)
    handler.begin_drain()
    result = post(client, "/v1/logs")
    assert result.status_code == 503
    assert result.headers["retry-after"] == "5"
    assert "shutting down" in status_of(result).message
    assert client.simulate_get("/ready").status_code == 503
    assert client.simulate_get("/health").status_code == 200
    assert pipeline.calls == []


# -- auth -----------------------------------------------------------------------------------
def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_and_bearer_auth(pipeline: FakePipeline) -> None:
    auth = Authenticator(basic=(b"otel", b"s3cr\xc3\xa9t"), bearer=b"tok-123")
    client = make_client(pipeline, auth=auth)
    denied = post(client, "/v1/logs")
    assert denied.status_code == 401
    assert status_of(denied).code == code_pb2.UNAUTHENTICATED
    challenges = denied.headers["www-authenticate"]
    assert "Basic" in challenges and "Bearer" in challenges
    for wrong in ("Bearer tok-12", basic("otel", "wrong"), basic("other", "s3cré t"), "Basic !!"):
        assert post(client, "/v1/logs", Authorization=wrong).status_code == 401
    assert post(client, "/v1/logs", Authorization="Bearer tok-123").status_code == 200
    assert post(client, "/v1/logs", Authorization=basic("otel", "s3crét")).status_code == 200
    assert client.simulate_get("/health").status_code == 200  # probes need no credentials
    assert len(pipeline.calls) == 2


# -- CORS -----------------------------------------------------------------------------------
PREFLIGHT = {
    "Origin": "https://app.example.com",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


def test_cors_is_off_by_default(client: Any) -> None:
    preflight = client.simulate_options("/v1/traces", headers=PREFLIGHT)
    assert preflight.status_code == 403
    result = post(client, "/v1/traces", Origin="https://app.example.com")
    assert "access-control-allow-origin" not in result.headers
    plain = client.simulate_options("/v1/traces")
    assert (plain.status_code, plain.headers["allow"]) == (204, "POST, OPTIONS")


def test_cors_allows_configured_origins(pipeline: FakePipeline) -> None:
    client = make_client(pipeline, cors_allow_origins=("https://app.example.com",))
    preflight = client.simulate_options("/v1/traces", headers=PREFLIGHT)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    result = post(client, "/v1/traces", Origin="https://app.example.com")
    assert result.headers["access-control-allow-origin"] == "https://app.example.com"
    assert result.headers["vary"] == "Origin"
    other = dict(PREFLIGHT, Origin="https://evil.example.com")
    assert client.simulate_options("/v1/traces", headers=other).status_code == 403
    star = make_client(pipeline, cors_allow_origins=("*",))
    assert (
        star.simulate_options("/v1/logs", headers=other).headers["access-control-allow-origin"]
        == "*"
    )


def test_drain_waits_for_requests_in_flight(pipeline: FakePipeline) -> None:
    """A request already ingesting when the drain starts completes (and is acknowledged);
    ``wait_idle`` returns only after it, so the final flush includes its records."""
    entered, release = threading.Event(), threading.Event()
    ingest = pipeline.ingest

    def slow_ingest(*args: Any) -> IngestResult:
        entered.set()
        release.wait(5)
        return ingest(*args)

    pipeline.ingest = slow_ingest  # type: ignore[method-assign]
    handler = make_handler(pipeline)
    results: list[int] = []
    worker = threading.Thread(
        target=lambda: results.append(
            handler.handle("POST", "/v1/logs", {"Content-Type": JSON}, b"{}").status
        )
    )
    worker.start()
    assert entered.wait(5)
    handler.begin_drain()
    assert not handler.wait_idle(0.05)
    release.set()
    assert handler.wait_idle(5)
    worker.join(5)
    assert results == [200] and len(pipeline.calls) == 1
