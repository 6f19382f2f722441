"""The Cloudflare Worker's per-request work with the pyarrow-free engine: decode a protobuf
request, map it with the lite mappers, write each table with the lite Parquet writer.

Imported by ``benchmarks.worker_bench`` under CPython, and run as a script inside Pyodide
(``tests/pyodide/run.mjs``), where it reads ``/stage/bench.json`` (``{"repeat": N, "workloads":
[{"name", "signal", "records", "files"}]}``) and writes ``/out/report.json``. Only the standard
library and otlp2parquet's pure-Python modules are used.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from collections.abc import Sequence
from typing import Any


def lite_loop(signal: str, requests: Sequence[bytes]) -> int:
    """Decode, map and write every request as the Worker does; returns the bytes written."""
    from otlp2parquet.engine.lite.mapping import LiteRecordMapper
    from otlp2parquet.engine.lite.metrics import LiteMetricsMapper
    from otlp2parquet.engine.lite.parquet_writer import LiteParquetWriter
    from otlp2parquet.plugins.decode_protobuf import ProtobufDecoder
    from otlp2parquet.schema.tables import list_table_schemas

    schemas = {s.name: s for s in list_table_schemas() if s.signal == signal}
    mapper: Any = (
        LiteMetricsMapper(schemas) if signal == "metrics" else LiteRecordMapper(signal, schemas)
    )
    decoder, writer = ProtobufDecoder(), LiteParquetWriter()
    written = 0
    for body in requests:
        mapped = mapper.map(decoder.decode(body, signal))
        for name, table in mapped.tables.items():
            written += len(writer.to_bytes(table, schemas[name]))
    return written


def timed(signal: str, requests: Sequence[bytes], repeat: int) -> dict[str, float]:
    """The best of ``repeat`` runs in seconds, and the traced peak of Python allocations."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        lite_loop(signal, requests)
        best = min(best, time.perf_counter() - started)
    tracemalloc.start()
    lite_loop(signal, requests)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": best, "peak_bytes": float(peak)}


def _in_pyodide() -> None:
    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"  # staged pure protobuf
    with open("/stage/bench.json", encoding="utf-8") as source:
        plan = json.load(source)
    results = {}
    for item in plan["workloads"]:
        requests = []
        for name in item["files"]:
            with open(f"/stage/{name}", "rb") as body:
                requests.append(body.read())
        results[item["name"]] = timed(item["signal"], requests, int(plan["repeat"]))
    from google.protobuf.internal import api_implementation

    report = {
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "protobuf": api_implementation.Type(),
        "results": results,
    }
    with open("/out/report.json", "w", encoding="utf-8") as sink:
        json.dump(report, sink)


if __name__ == "__main__" and sys.platform == "emscripten":
    _in_pyodide()
