"""Memory: one 64 MiB protobuf logs request end to end (``Pipeline.ingest`` and ``flush`` into
the memory store), measured in a fresh process from the moment the body is in memory. Target:
peak RSS growth <= 4× the body."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure import MB, measure, run_child
from benchmarks.workloads import REQUEST_RECORDS, workload

TARGET_RATIO = 4.0
BODY_BYTES = 64 * MB


def big_request(size: int = BODY_BYTES) -> tuple[bytes, int]:
    """One ExportLogsServiceRequest of at least ``size`` bytes (serialized requests concatenate
    into one whose repeated fields hold them all) and its record count."""
    requests = workload("L", 0.1).requests
    parts: list[bytes] = []
    total = 0
    while total < size:
        body = requests[len(parts) % len(requests)]
        parts.append(body)
        total += len(body)
    return b"".join(parts), len(parts) * REQUEST_RECORDS


def run_memory(size: int = BODY_BYTES) -> dict[str, Any]:
    body, records = big_request(size)
    with tempfile.TemporaryDirectory(prefix="otlp2parquet-bench-") as tmp:
        path = Path(tmp) / "body.pb"
        path.write_bytes(body)
        result = run_child("benchmarks.memory", [str(path), str(records)])
    result.update(
        body_mb=len(body) / MB,
        records=records,
        target_ratio=TARGET_RATIO,
        ok=result["peak_rss_growth_mb"] <= TARGET_RATIO * len(body) / MB,
    )
    result["ratio"] = result["peak_rss_growth_mb"] / result["body_mb"]
    return result


def _child(path: str, records: int) -> dict[str, Any]:
    import pyarrow as pa

    from benchmarks.pipeline_bench import end_to_end, make_pipeline

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    body = Path(path).read_bytes()
    pipeline = make_pipeline(max_payload_bytes=len(body) + 1, batching=True)
    end_to_end(pipeline, "logs", "protobuf", workload("L", 0.01).requests)  # warm-up
    run = measure(lambda: end_to_end(pipeline, "logs", "protobuf", [body]))
    return {
        "seconds": run.seconds,
        "records_per_s": run.rate(records),
        "peak_rss_growth_mb": run.peak_rss_growth / MB,
    }


def format_memory(r: dict[str, Any]) -> str:
    verdict = "within target" if r["ok"] else "MISSES the target"
    return (
        f"one {r['body_mb']:.0f} MiB protobuf request ({r['records']:,} log records): "
        f"{r['seconds']:.1f} s, peak RSS growth {r['peak_rss_growth_mb']:.0f} MiB = "
        f"{r['ratio']:.1f}× the body (target <= {r['target_ratio']:.0f}×); {verdict}"
    )


if __name__ == "__main__":
    from otlp2parquet.cli.output import emit

    emit(json.dumps(_child(sys.argv[1], int(sys.argv[2]))))
