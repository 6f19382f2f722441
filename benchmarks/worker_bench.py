"""The Cloudflare Worker's path without pyarrow, measured where it can run here: the lite engine
under CPython and inside Pyodide (the runtime of Python Workers, from npm, under Node.js), each
beside the pyarrow path under CPython on the same protobuf requests. The Pyodide run uses
protobuf's pure-Python implementation copied into its file system (as the tests do)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.pipeline_bench import CONTENT_TYPES, make_pipeline
from benchmarks.worker_loop import timed
from benchmarks.workloads import workload

ROOT = Path(__file__).resolve().parent.parent
PYODIDE_DIR = ROOT / "tests" / "pyodide"
#: Records per workload: the Worker handles one request at a time, so a few are enough.
RECORDS = 10_000
log = logging.getLogger(__name__)


def pyarrow_seconds(signal: str, requests: list[bytes], repeat: int) -> float:
    """The same requests through the pyarrow path, also one file per request and table."""
    pipeline = make_pipeline()
    mapper = pipeline.mappers[signal]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for body in requests:
            mapped = mapper.map(pipeline.decode(signal, body, CONTENT_TYPES["protobuf"], None))
            for name, table in mapped.tables.items():
                pipeline.engine.writer.to_bytes(table, pipeline.schemas[name])
        best = min(best, time.perf_counter() - started)
    return best


def pyodide_results(plans: list[dict[str, Any]], repeat: int) -> dict[str, Any] | None:
    """``worker_loop`` inside Pyodide; None (with the reason logged) when it cannot run."""
    import google.protobuf
    import opentelemetry.proto
    import pluggy

    from otlp2parquet.cli.deploy import vendor

    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        log.info("Pyodide skipped: Node.js and npm are not installed")
        return None
    if not (PYODIDE_DIR / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
            cwd=PYODIDE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            log.info("Pyodide skipped: npm could not install it: %s", done.stderr[-300:])
            return None
    with tempfile.TemporaryDirectory() as work:
        stage, out = Path(work) / "stage", Path(work) / "out"
        vendor(stage)
        for package in (pluggy, google.protobuf, opentelemetry.proto):
            source = Path(package.__path__[0])
            target = stage.joinpath(*package.__name__.split("."))
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        listed = []
        for plan in plans:
            files = []
            for i, body in enumerate(plan["requests"]):
                name = f"{plan['name']}-{i}.pb"
                (stage / name).write_bytes(body)
                files.append(name)
            listed.append({"name": plan["name"], "signal": plan["signal"], "files": files})
        (stage / "bench.json").write_text(json.dumps({"repeat": repeat, "workloads": listed}))
        script = Path(__file__).with_name("worker_loop.py")
        done = subprocess.run(
            [node, "run.mjs", str(stage), str(script), str(out)],
            cwd=PYODIDE_DIR,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0:
            log.warning("Pyodide run failed: %s", done.stderr[-1000:])
            return None
        result: dict[str, Any] = json.loads((out / "report.json").read_text())
        return result


def run_worker(scale: float = 1.0, repeat: int = 3) -> dict[str, Any]:
    """Records/s and traced peak memory per workload: pyarrow path, lite under CPython, lite in
    Pyodide."""
    plans: list[dict[str, Any]] = []
    for name in ("L", "T", "M"):
        load = workload(name, RECORDS / {"L": 100_000, "T": 50_000, "M": 100_000}[name] * scale)
        plans.append(
            {
                "name": name,
                "signal": load.signal,
                "records": load.records,
                "requests": load.bodies("protobuf"),
            }
        )
    rows = []
    pyodide = pyodide_results(plans, max(1, repeat - 1))
    for plan in plans:
        records, requests = plan["records"], plan["requests"]
        arrow = pyarrow_seconds(plan["signal"], requests, repeat)
        lite = timed(plan["signal"], requests, repeat)
        row: dict[str, Any] = {
            "workload": plan["name"],
            "records": records,
            "pyarrow_rps": records / arrow,
            "lite_rps": records / lite["seconds"],
            "lite_peak_mb": lite["peak_bytes"] / 2**20,
        }
        if pyodide is not None:
            inside = pyodide["results"][plan["name"]]
            row["pyodide_rps"] = records / inside["seconds"]
            row["pyodide_peak_mb"] = inside["peak_bytes"] / 2**20
        rows.append(row)
    return {
        "rows": rows,
        "pyodide": {k: v for k, v in (pyodide or {}).items() if k != "results"} or None,
    }


def format_worker(result: dict[str, Any]) -> str:
    lines = [
        "Cloudflare Worker path (protobuf, per request; traced peak of Python allocations)",
        f"{'workload':<9}{'pyarrow rec/s':>15}{'lite rec/s':>13}{'lite/pyarrow':>14}"
        f"{'lite MB':>9}{'Pyodide rec/s':>15}{'Pyodide/pyarrow':>17}{'Pyodide MB':>12}",
    ]
    for row in result["rows"]:
        inside = row.get("pyodide_rps")
        lines.append(
            f"{row['workload']:<9}{row['pyarrow_rps']:>15,.0f}{row['lite_rps']:>13,.0f}"
            f"{row['lite_rps'] / row['pyarrow_rps']:>14.2f}{row['lite_peak_mb']:>9.1f}"
            + (
                f"{inside:>15,.0f}{inside / row['pyarrow_rps']:>17.2f}"
                f"{row['pyodide_peak_mb']:>12.1f}"
                if inside
                else f"{'(not run)':>15}"
            )
        )
    if result["pyodide"]:
        info = result["pyodide"]
        lines.append(f"Pyodide: Python {info['python']}, protobuf {info['protobuf']}")
    return "\n".join(lines)
