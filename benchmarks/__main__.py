"""``python -m benchmarks``: end-to-end pipeline throughput and memory beside a baseline and a
floor, whole-process ``convert`` beside its floor, one 64 MiB request, server load (one worker,
then two for five minutes, which also shows whether memory stays flat), Lambda cold start, the
Cloudflare Worker's pyarrow-free path (under CPython and inside Pyodide), and the targets.
Results go to benchmarks/results/*.json."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.targets import evaluate, format_targets
from otlp2parquet.cli.output import emit

RESULTS = Path(__file__).parent / "results"
PARTS = ("pipeline", "convert", "memory", "server", "coldstart", "worker")


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy
    import pyarrow
    from google.protobuf import __version__ as protobuf
    from google.protobuf.internal import api_implementation

    return {
        "python": sys.version.split()[0],
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "protobuf": f"{protobuf} ({api_implementation.Type()})",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("parts", nargs="*", help=f"of {', '.join(PARTS)}; default: all")
    parser.add_argument("--scale", type=float, default=1.0, help="workload size factor")
    parser.add_argument("--encodings", default="protobuf,json,jsonl")
    parser.add_argument("--workloads", default="L,T,M")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per server run")
    parser.add_argument("--workers", default="1,2", help="server.workers values to run")
    parser.add_argument(
        "--soak-secs",
        type=float,
        default=300.0,
        help="seconds of the run with the most workers, which checks that RSS stays flat "
        "(0: --duration, and no memory check)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parts = args.parts or PARTS
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    began = time.monotonic()
    report: dict[str, Any] = {
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "parts": list(parts),
    }
    if "pipeline" in parts:
        from benchmarks.pipeline_bench import format_table, run

        names = args.workloads.split(",")
        results = run(names, args.encodings.split(","), args.scale, args.repeat, args.no_baseline)
        report["pipeline"] = results
        emit("end to end: request bytes → files in storage (one core), beside the baseline")
        emit(format_table(results) + "\n")
    if "convert" in parts:
        from benchmarks.convert_bench import format_convert, run_convert

        report["convert"] = run_convert(max(2, min(args.repeat, 3)), args.scale)
        emit(format_convert(report["convert"]) + "\n")
    if "memory" in parts:
        from benchmarks.memory import format_memory, run_memory

        report["memory"] = run_memory()
        emit(format_memory(report["memory"]) + "\n")
    if "server" in parts:
        from benchmarks.server_load import format_server, run_server

        report["server"] = []
        counts = [int(w) for w in args.workers.split(",")]
        for workers in counts:  # the last (most workers) runs long enough to check memory
            seconds = args.soak_secs if workers == counts[-1] and args.soak_secs else args.duration
            result = run_server(args.clients, seconds, workers)
            report["server"].append(result)
            emit(format_server(result))
        emit()
    if "coldstart" in parts:
        from benchmarks.cold_start import format_cold, run_cold

        report["coldstart"] = run_cold()
        emit(format_cold(report["coldstart"]) + "\n")
    if "worker" in parts:
        from benchmarks.worker_bench import format_worker, run_worker

        report["worker"] = run_worker(args.scale, max(2, min(args.repeat, 3)))
        emit(format_worker(report["worker"]) + "\n")
    report["seconds"] = time.monotonic() - began
    report["targets"] = evaluate(report)
    emit(format_targets(report["targets"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    emit(f"\n{report['seconds'] / 60:.1f} minutes; results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
