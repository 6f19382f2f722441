"""End to end, beside the baseline and the floor: request bytes → Parquet files in storage
(the memory backend), through the pipeline the server uses (``Pipeline.ingest``: decode, map,
split by partition, batcher; then ``flush``: concatenate, write, put).

Each (workload, encoding) runs in fresh child processes on one core (pyarrow's thread pools set
to one thread), warmed up on two requests first: one for ours and the floor (a first run of ours
gives its peak growth of resident memory, then each is timed ``repeat`` times in a row; the
fastest run gives records/s), one for the baseline.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from benchmarks.measure import MB, Measurement, measure, run_child
from benchmarks.workloads import Workload, workload
from otlp2parquet.cli.output import emit

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    "protobuf": "application/x-protobuf",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}


def make_pipeline(max_payload_bytes: int = 256 * MB, batching: bool = False) -> Any:
    """A pipeline as the server builds it (default settings), writing to memory; batching off
    unless asked for. Request limits are raised to take the bench's biggest request."""
    from otlp2parquet.assembly import bootstrap

    runtime = bootstrap(
        cli={
            "storage.backend": ("memory", "bench"),
            "batch.enabled": (batching, "bench"),
            "request.max_payload_bytes": (max_payload_bytes, "bench"),
            "request.max_records": (10_000_000, "bench"),
        },
        env={},
        cwd=Path("/nonexistent"),
    )
    return runtime.pipeline()


def end_to_end(pipeline: Any, signal: str, encoding: str, bodies: list[bytes]) -> int:
    """What the server does with each request (``ingest``), then the final ``flush``; the
    files land in the memory store, which is emptied afterwards. Returns the rows written."""
    content_type = CONTENT_TYPES[encoding]
    before = pipeline.stats.rows_written
    for body in bodies:
        pipeline.ingest(signal, body, content_type)
    pipeline.flush()
    store = getattr(pipeline.storage, "fs", None)
    if store is not None:
        store.store.clear()  # the memory file system's objects
    return int(pipeline.stats.rows_written - before)


def mapped_tables(pipeline: Any, signal: str, encoding: str, bodies: list[bytes]) -> list[pa.Table]:
    """The rows the pipeline writes for ``bodies``, one table per schema table (the floor
    writes these), each also written once as Parquet."""
    mapper = pipeline.mappers[signal]
    content_type = CONTENT_TYPES[encoding]
    parts: dict[str, list[pa.Table]] = defaultdict(list)
    for body in bodies:
        mapped = mapper.map(pipeline.decode(signal, body, content_type, None))
        for name, table in mapped.tables.items():
            parts[name].append(table)
    tables = []
    for name, pieces in parts.items():
        table = pa.concat_tables(pieces)
        pipeline.engine.writer.to_bytes(table, pipeline.schemas[name])
        tables.append(table)
    return tables


def _child(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--signal", required=True)
    parser.add_argument("--encoding", required=True)
    parser.add_argument("--method", choices=("ours", "baseline"), required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    from benchmarks.baseline import baseline_run, floor_run

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    bodies: list[bytes] = pickle.loads(args.bodies.read_bytes())
    signal, encoding = args.signal, args.encoding
    if args.method == "baseline":
        baseline_run(signal, encoding, bodies[:2])  # warm-up
        runs = [measure(lambda: baseline_run(signal, encoding, bodies))]
        return {"baseline_" + k: v for k, v in _summary(runs, runs, args.records).items()}
    pipeline = make_pipeline(batching=True)
    end_to_end(pipeline, signal, encoding, bodies[:2])  # warm-up: imports, caches
    ours = [measure(lambda: end_to_end(pipeline, signal, encoding, bodies))]  # first: memory
    written = ours[0].result
    for _ in range(args.repeat):  # not interleaved: the floor's big writes would disturb ours
        ours.append(measure(lambda: end_to_end(pipeline, signal, encoding, bodies), False))
    plain = make_pipeline()
    tables = mapped_tables(plain, signal, encoding, bodies)
    if sum(t.num_rows for t in tables) != written:
        raise RuntimeError(f"wrote {written} rows, the mapped tables hold another number")
    writer = plain.engine.writer
    floor = [measure(lambda: floor_run(signal, encoding, bodies, tables, writer))]
    for _ in range(args.repeat):
        floor.append(measure(lambda: floor_run(signal, encoding, bodies, tables, writer), False))
    result = {"ours_" + k: v for k, v in _summary(ours, ours[1:], args.records).items()}
    result.update({"floor_" + k: v for k, v in _summary(floor, floor[1:], args.records).items()})
    result["rows_written"] = written
    return result


def _summary(first: list[Measurement], timed: list[Measurement], records: int) -> dict[str, Any]:
    """Records/s of the fastest of ``timed``, and the peak memory of the first run."""
    return {
        "records_per_s": records / min(m.seconds for m in timed),
        "cpu_records_per_s": records / min(m.cpu_seconds for m in timed),
        "seconds": [round(m.seconds, 4) for m in timed],
        "peak_rss_mb": first[0].peak_rss_growth / MB,
    }


def run(
    names: list[str],
    encodings: list[str],
    scale: float = 1.0,
    repeat: int = 3,
    skip_baseline: bool = False,
) -> list[dict[str, Any]]:
    """Measure every workload in every encoding; one result row each."""
    methods = ["ours"] if skip_baseline else ["ours", "baseline"]
    results = []
    with tempfile.TemporaryDirectory(prefix="otlp2parquet-bench-") as tmp:
        for name in names:
            load = workload(name, scale)
            for encoding in encodings:
                results.append(_measure(load, encoding, methods, repeat, Path(tmp)))
    return results


def _measure(
    load: Workload, encoding: str, methods: list[str], repeat: int, tmp: Path
) -> dict[str, Any]:
    bodies = load.bodies(encoding)
    path = tmp / f"{load.name}-{encoding}.pickle"
    path.write_bytes(pickle.dumps(bodies))
    row: dict[str, Any] = {
        "workload": load.name,
        "signal": load.signal,
        "encoding": encoding,
        "records": load.records,
        "requests": len(load.requests),
        "payload_bytes": sum(map(len, bodies)),
    }
    for method in methods:
        args = ["--bodies", str(path), "--signal", load.signal, "--encoding", encoding]
        args += ["--method", method, "--records", str(load.records), "--repeat", str(repeat)]
        row.update(run_child("benchmarks.pipeline_bench", args))
        log.info(
            "%s %s %s: %.0f records/s", load.name, encoding, method, row[f"{method}_records_per_s"]
        )
    row["fraction_of_floor"] = row["ours_records_per_s"] / row["floor_records_per_s"]
    if "baseline_records_per_s" in row:
        row["ratio_to_baseline"] = row["ours_records_per_s"] / row["baseline_records_per_s"]
    return row


def format_table(results: list[dict[str, Any]]) -> str:
    header = (
        f"{'work':<5}{'encoding':<10}{'records':>9}{'ours rec/s':>12}{'peak MB':>9}"
        f"{'baseline':>10}{'base MB':>9}{'× base':>8}{'floor rec/s':>13}{'of floor':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['workload']:<5}{r['encoding']:<10}{r['records']:>9,}"
            f"{r['ours_records_per_s']:>12,.0f}{r['ours_peak_rss_mb']:>9.0f}"
            f"{r.get('baseline_records_per_s', 0):>10,.0f}{r.get('baseline_peak_rss_mb', 0):>9.0f}"
            f"{r.get('ratio_to_baseline', 0):>8.1f}{r['floor_records_per_s']:>13,.0f}"
            f"{r['fraction_of_floor']:>9.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    emit(json.dumps(_child(sys.argv[1:])))  # the parent reads this line
