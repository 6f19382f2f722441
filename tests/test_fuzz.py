"""Fuzzing (hypothesis, derandomized): every decoder and the schema mappers behind them, and the
OTLP/HTTP layer. Whatever arrives, the outcome is a result or one of our own errors (a 4xx
status), never another exception (a 500). About 21,000 cases here; ``make fuzz`` runs more.
"""

from __future__ import annotations

import gzip
import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otlp2parquet.assembly import bootstrap
from otlp2parquet.errors import DecodeError, Otlp2ParquetError
from otlp2parquet.http.otlp import OtlpHttp
from support.fuzz_support import (
    JSON_TREES,
    as_json,
    encoded,
    fill,
    fuzz_settings,
    mutate,
    mutated,
    otlp_requests,
    seeds,
)
from support.signal_samples import REQUEST_TYPES, decoder, mapper

SIGNALS = ("logs", "traces", "metrics")
#: Cases per test (and per signal where a test runs for each signal).
RANDOM_PROTOBUF, MUTATED_PROTOBUF, RANDOM_JSON, ARBITRARY_JSON, HTTP = 1500, 2500, 1000, 700, 5000
DECODERS = {name: decoder(name) for name in ("protobuf", "json", "jsonl")}
MAPPERS = {signal: mapper(signal) for signal in SIGNALS}
SEEDS = seeds()


def decode_and_map(kind: str, body: bytes, signal: str) -> None:
    """The decoder either refuses with DecodeError or its output maps without an error that
    is not ours."""
    try:
        requests = DECODERS[kind].decode(body, signal)
    except DecodeError:
        return
    try:
        MAPPERS[signal].map(requests)
    except Otlp2ParquetError:
        return


@pytest.mark.parametrize("signal", SIGNALS)
@fuzz_settings(RANDOM_PROTOBUF)
@given(data=st.data())
def test_protobuf_decoder_random_messages(signal: str, data: Any) -> None:
    request = data.draw(otlp_requests(signal))
    decode_and_map("protobuf", request.SerializeToString(), signal)


@pytest.mark.parametrize("signal", SIGNALS)
@fuzz_settings(MUTATED_PROTOBUF)
@given(data=st.data())
def test_protobuf_decoder_mutated_and_random_bytes(signal: str, data: Any) -> None:
    body = data.draw(st.one_of(mutated(SEEDS[signal]), st.binary(max_size=300)))
    decode_and_map("protobuf", body, signal)


@pytest.mark.parametrize("signal", SIGNALS)
@fuzz_settings(RANDOM_JSON)
@given(data=st.data())
def test_json_decoder_random_messages(signal: str, data: Any) -> None:
    decode_and_map("json", as_json(data.draw(otlp_requests(signal))), signal)


@pytest.mark.parametrize("signal", SIGNALS)
@fuzz_settings(ARBITRARY_JSON)
@given(data=st.data())
def test_json_decoders_arbitrary_json_and_bytes(signal: str, data: Any) -> None:
    top = {"logs": "resourceLogs", "traces": "resourceSpans", "metrics": "resourceMetrics"}
    tree = data.draw(st.one_of(JSON_TREES, st.builds(lambda t: {top[signal]: [t]}, JSON_TREES)))
    text = json.dumps(tree).encode()
    body = data.draw(st.sampled_from([text, text[: len(text) // 2], text + b"\n" + text]))
    kind = data.draw(st.sampled_from(["json", "jsonl"]))
    decode_and_map(kind, body, signal)
    decode_and_map(kind, data.draw(mutated(as_json(_seed_request(signal)))), signal)


def _seed_request(signal: str) -> Any:
    from support.signal_samples import full_requests

    return full_requests()[signal]


# -- the HTTP layer ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def handler(tmp_path_factory: pytest.TempPathFactory) -> OtlpHttp:
    """The real pipeline on the memory store; batches stay buffered (nothing is written)."""
    cli = {
        "storage.backend": ("memory", "test"),
        "batch.max_age_secs": (3600, "test"),
        "batch.max_rows": (10**9, "test"),
        "batch.max_bytes": (1 << 40, "test"),
        "batch.max_buffered_bytes": (1 << 40, "test"),
    }
    pipeline = bootstrap(None, cli, env={}, cwd=tmp_path_factory.mktemp("fuzz")).pipeline()
    return OtlpHttp(pipeline, max_payload_bytes=64 * 1024)


CONTENT_TYPES = [
    "application/x-protobuf", "application/protobuf", "application/json",
    "application/json; charset=utf-8", "application/x-ndjson", "application/jsonl",
    "text/plain", "", 'application/x-protobuf; x="', "APPLICATION/JSON", "\x00",
]  # fmt: skip
ENCODINGS = ["", "identity", "gzip", "gzip", "x-gzip", "deflate", "br", "gzip, gzip"]
PATHS = ["/v1/logs", "/v1/traces", "/v1/metrics", "/v1/logs/", "/health", "/ready", "/",
         "/v1/../v1/logs", "/v1/logs?x=1", "/%00"]  # fmt: skip
METHODS = ["POST", "POST", "POST", "GET", "OPTIONS", "PUT", "DELETE", "HEAD"]
LENGTHS = [None, None, None, "exact", "exact", "-1", "abc", "99999999999"]
ALLOWED = {200, 204, 400, 401, 404, 405, 413, 415, 429, 503}
BOMB = gzip.compress(b"\x00" * 300_000)  # inflates past the 64 KiB limit


def http_request(rnd: random.Random) -> tuple[str, str, dict[str, str], bytes]:
    """Mostly well-aimed (POST to a signal path, a fitting Content-Type), sometimes not."""
    path = rnd.choice(PATHS[:3]) if rnd.random() < 0.8 else rnd.choice(PATHS)
    signal = next((s for s in SIGNALS if path.startswith(f"/v1/{s}")), "logs")
    choice = rnd.randrange(6)
    content_type = "application/x-protobuf"
    if choice == 0:
        raw = fill(rnd, REQUEST_TYPES[signal]()).SerializeToString()
    elif choice == 1:
        raw, content_type = as_json(fill(rnd, REQUEST_TYPES[signal]())), "application/json"
    elif choice == 2:
        raw = mutate(rnd, SEEDS[signal])
    elif choice == 3:
        raw = rnd.randbytes(rnd.randrange(200))
    elif choice == 4:
        raw = b"\x1f\x8b" + b"\x00" * 8  # a gzip header and nothing else
    else:
        raw = BOMB
    encoding = "gzip" if raw is BOMB else rnd.choice(ENCODINGS)
    body = encoded(raw, encoding) if raw is not BOMB and rnd.random() < 0.7 else raw
    if rnd.random() < 0.3:
        content_type = rnd.choice(CONTENT_TYPES)
    headers = {"Content-Type": content_type, "Content-Encoding": encoding}
    length = rnd.choice(LENGTHS)
    if length is not None:
        headers["Content-Length"] = str(len(body)) if length == "exact" else length
    method = "POST" if rnd.random() < 0.85 else rnd.choice(METHODS)
    return method, path, headers, body


@fuzz_settings(HTTP)
@given(rnd=st.randoms(use_true_random=True))
def test_http_layer_never_answers_500(handler: OtlpHttp, rnd: random.Random) -> None:
    method, path, headers, body = http_request(rnd)
    response = handler.handle(method, path, headers, body)
    assert response.status in ALLOWED, (response.status, response.body[:300])
    if response.status >= 400:
        assert response.body  # a google.rpc.Status, never an empty error


def test_fuzz_case_count_meets_the_ci_floor() -> None:
    """At FUZZ_EXAMPLES_SCALE=1 (CI) the tests above run at least 20,000 cases."""
    per_signal = RANDOM_PROTOBUF + MUTATED_PROTOBUF + RANDOM_JSON + ARBITRARY_JSON
    assert len(SIGNALS) * per_signal + HTTP >= 20_000
