"""Helpers for the Cloudflare Worker tests: an ``env`` with stood-in bindings, requests, and
OTLP protobuf bodies."""

from __future__ import annotations

import asyncio
import io
from types import SimpleNamespace
from typing import Any

import pyarrow.parquet as pq
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

from otlp2parquet.plugins.platform_cloudflare import boundary, handlers
from otlp2parquet.plugins.platform_cloudflare.batcher import Batcher
from support.cloudflare_standins import (
    DurableObjectNamespace,
    KVNamespace,
    R2Bucket,
    ServiceBinding,
)

PB = "application/x-protobuf"
T0 = 1_714_557_600_000_000_000  # 2024-05-01T10:00:00Z
URL = "https://otlp.example.workers.dev"


def make_env(batching: bool = False, catalog: bool = False, **variables: str) -> Any:
    """A Worker ``env``: the R2 bucket, optionally KV + cron catalog receipts and the batcher."""
    env = SimpleNamespace(
        OTLP_BUCKET=R2Bucket(),
        CF_WORKER="1",
        OTLP2PARQUET_BATCH_ENABLED="true" if batching else "false",
        OTLP2PARQUET_STORAGE_R2_BINDING_BUCKET="otlp-data",
    )
    if catalog:
        env.PENDING_FILES = KVNamespace()
        env.OTLP2PARQUET_PLUGINS_MODULES = '["support.recording_catalog"]'
        env.OTLP2PARQUET_CATALOG_MODE = "recording"
    if batching:
        env.OTLP_BATCHER = DurableObjectNamespace(Batcher)
        env.OTLP_BATCHER.env = env

        async def record_receipts(payload: str) -> int:
            return await handlers.record_receipts(env, payload)

        env.SELF = ServiceBinding(record_receipts=record_receipts)
    for name, value in variables.items():
        setattr(env, name, value)
    return env


def request(
    path: str, body: bytes = b"", method: str = "POST", content_type: str = PB, **headers: str
) -> boundary.HttpRequest:
    all_headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return boundary.HttpRequest(URL + path, method, all_headers, body)


def fetch(env: Any, req: boundary.HttpRequest) -> boundary.HttpResponse:
    return asyncio.run(handlers.fetch(env, req))


def pb_logs(service: str = "checkout", count: int = 3, text: str = "hello") -> bytes:
    request = logs_service_pb2.ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    attr = resource_logs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", service
    scope = resource_logs.scope_logs.add()
    for i in range(count):
        record = scope.log_records.add()
        record.time_unix_nano = T0 + (i + 1) * 1_000_000_000
        record.body.string_value = f"{text} {i}"
    return request.SerializeToString()


def parquet_keys(env: Any) -> list[str]:
    return sorted(k for k in env.OTLP_BUCKET.objects if k.endswith(".parquet"))


def rows(env: Any, key: str) -> int:
    return pq.read_table(io.BytesIO(env.OTLP_BUCKET.objects[key])).num_rows
