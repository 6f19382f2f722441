"""A scripted pipeline and helpers for the falcon TestClient tests of the OTLP/HTTP core."""

from __future__ import annotations

from typing import Any

import falcon.testing
from google.protobuf import json_format
from google.rpc import status_pb2

from otlp2parquet.http.bodies import decompress
from otlp2parquet.http.otlp import OtlpHttp
from otlp2parquet.plugins.platform_server.app import create_app
from otlp2parquet.types import IngestResult

PB = "application/x-protobuf"
JSON = "application/json"
LIMIT = 1000


class FakePipeline:
    """The Pipeline API the core uses; ``ingest`` decompresses like the real one."""

    decoders = dict.fromkeys([PB, "application/protobuf", JSON, "application/x-ndjson"])
    media_types = sorted(decoders)

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, str | None, str | None]] = []
        self.result = IngestResult(accepted=1)
        self.error: Exception | None = None
        self.ready_error: Exception | None = None

    def ingest(self, signal: str, body: bytes, ctype: str | None, enc: str | None) -> IngestResult:
        data = decompress(body, enc, LIMIT)
        self.calls.append((signal, data, ctype, enc))
        if self.error is not None:
            raise self.error
        return self.result

    def check_ready(self) -> None:
        if self.ready_error is not None:
            raise self.ready_error


def status_of(result: falcon.testing.Result) -> status_pb2.Status:
    """Decode a google.rpc.Status body in the response's own content type."""
    if result.headers["content-type"] == JSON:
        return json_format.Parse(result.content, status_pb2.Status())
    return status_pb2.Status.FromString(result.content)


def post(client: falcon.testing.TestClient, path: str, body: bytes = b"{}", **headers: str) -> Any:
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    headers.setdefault("Content-Type", JSON)
    return client.simulate_post(path, body=body, headers=headers)


def make_handler(pipeline: FakePipeline, **kwargs: Any) -> OtlpHttp:
    return OtlpHttp(pipeline, max_payload_bytes=LIMIT, **kwargs)  # type: ignore[arg-type]


def make_client(
    pipeline: FakePipeline, handler: OtlpHttp | None = None, **kwargs: Any
) -> falcon.testing.TestClient:
    """A TestClient over the falcon app of ``handler`` (default: a new one over ``pipeline``)."""
    return falcon.testing.TestClient(create_app(handler or make_handler(pipeline, **kwargs)))
