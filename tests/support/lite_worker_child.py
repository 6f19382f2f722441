"""Run in a subprocess by test_lite_worker.py: the Cloudflare Worker's fetch path with ``pyarrow``,
``numpy`` and ``pyiceberg`` made unimportable, through the binding stand-ins; every object the R2
stand-in holds is written under ``OUT``, and a JSON report is printed.

Usage: ``python lite_worker_child.py IN_DIR OUT_DIR`` where IN_DIR holds ``requests.json``:
``[{"path", "content_type", "encoding", "body_file"}, ...]`` and optionally ``catalog.json``
(``{"bucket", "uri", "warehouse", "token"}``): then the direct-write run also keeps KV receipts
and syncs them into that Iceberg REST catalog with the cron handler."""

from __future__ import annotations

import asyncio
import importlib.abc
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

BLOCKED = ("pyarrow", "numpy", "pyiceberg")


class Blocker(importlib.abc.MetaPathFinder):
    """Refuses pyarrow and numpy, as Cloudflare's Python Workers runtime does (and pyiceberg,
    which needs pyarrow for what the catalog sync does)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this test (as in a Python Worker)")
        return None


async def no_receipts(payload: str) -> int:
    return 0  # catalog_mode is none: the batcher sends none


def main(inputs: Path, out: Path) -> dict[str, Any]:
    sys.meta_path.insert(0, Blocker())
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from otlp2parquet.plugins.platform_cloudflare import boundary, handlers, worker
    from otlp2parquet.plugins.platform_cloudflare.batcher import Batcher
    from support.cloudflare_standins import (
        DurableObjectNamespace,
        KVNamespace,
        R2Bucket,
        ServiceBinding,
    )

    report: dict[str, Any] = {"responses": []}
    catalog_file = inputs / "catalog.json"
    catalog = json.loads(catalog_file.read_text()) if catalog_file.exists() else None
    for batching in (False, True):
        worker.reset()
        env = SimpleNamespace(
            OTLP_BUCKET=R2Bucket(),
            CF_WORKER="1",
            OTLP2PARQUET_BATCH_ENABLED="true" if batching else "false",
            OTLP2PARQUET_STORAGE_R2_BINDING_BUCKET="otlp-data",
            OTLP2PARQUET_STORAGE_R2_BINDING_PREFIX="batched" if batching else "direct",
        )
        if catalog and not batching:
            env.PENDING_FILES = KVNamespace()
            env.OTLP2PARQUET_STORAGE_R2_BINDING_BUCKET = catalog["bucket"]
            env.OTLP2PARQUET_CATALOG_MODE = "iceberg"
            env.OTLP2PARQUET_ICEBERG_REST_URI = catalog["uri"]
            env.OTLP2PARQUET_ICEBERG_WAREHOUSE = catalog["warehouse"]
            env.OTLP2PARQUET_ICEBERG_TOKEN = catalog["token"]
        if batching:
            env.OTLP_BATCHER = DurableObjectNamespace(Batcher)
            env.OTLP_BATCHER.env = env
            env.SELF = ServiceBinding(record_receipts=no_receipts)
        for item in json.loads((inputs / "requests.json").read_text()):
            body = (inputs / item["body_file"]).read_bytes()
            headers = {"Content-Type": item["content_type"], "Content-Length": str(len(body))}
            if item["encoding"]:
                headers["Content-Encoding"] = item["encoding"]
            url = "https://otlp.example.workers.dev" + item["path"]
            request = boundary.HttpRequest(url, "POST", headers, body)
            response = asyncio.run(handlers.fetch(env, request))
            report["responses"].append([item["path"], response.status, response.body.decode()])
        if batching:
            for signal in list(env.OTLP_BATCHER.states):
                asyncio.run(env.OTLP_BATCHER.fire_alarm(signal))
        else:
            pipeline = worker.get_app(env).pipeline
            report["pipeline"] = f"{type(pipeline).__name__}/{type(pipeline.engine).__name__}"
            if catalog:
                report["sync"] = asyncio.run(handlers.scheduled(env))
        for key, data in env.OTLP_BUCKET.objects.items():
            target = out / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    report["loaded"] = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    report["module_file"] = sys.modules["otlp2parquet"].__file__
    return report


if __name__ == "__main__":
    result = main(Path(sys.argv[1]), Path(sys.argv[2]))
    sys.stdout.write(json.dumps(result) + "\n")
