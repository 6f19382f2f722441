"""Whole-process ``otlp2parquet convert``: a fresh process (interpreter start, imports, reading
the file, the pipeline, Parquet files on local disk) per run, beside the whole-process floor for
the same rows measured in the same run (``convert_floor``: start, import pyarrow and upb, parse
every request, ``pq.write_table`` of the rows written).

The inputs are what the Collector's ``fileexporter`` writes for protobuf: requests of 1,000
records, each behind its 4-byte big-endian length.
"""

from __future__ import annotations

import logging
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.workloads import workload

log = logging.getLogger(__name__)
#: (workload, scale): 200,000 log records, 100,000 spans, 100,000 metric points.
INPUTS = (("L", 2.0), ("T", 2.0), ("M", 1.0))
EXE = Path(sys.executable).with_name("otlp2parquet")


def framed(bodies: list[bytes]) -> bytes:
    """Requests as the fileexporter frames them: a 4-byte big-endian length before each."""
    return b"".join(struct.pack(">I", len(body)) + body for body in bodies)


def run_convert(repeat: int = 3, scale: float = 1.0) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="otlp2parquet-convert-") as tmp:
        for name, size in INPUTS:
            load = workload(name, size * scale)
            work = Path(tmp) / load.signal
            work.mkdir()
            source = work / "requests.pb"
            source.write_bytes(framed(load.requests))
            settings = _floor_tables(load.signal, load.requests, work / "tables")
            ours = [_convert_once(source, load.signal, work / "out") for _ in range(repeat)]
            floor_argv = [sys.executable, "-m", "benchmarks.convert_floor", load.signal]
            floor_argv += [str(source), str(work / "tables"), str(work / "out"), *settings]
            floor = [_timed(floor_argv, work / "out") for _ in range(repeat)]
            row = {
                "workload": name,
                "signal": load.signal,
                "records": load.records,
                "input_bytes": source.stat().st_size,
                "seconds": [round(s, 3) for s in ours],
                "floor_seconds": [round(s, 3) for s in floor],
                "records_per_s": load.records / min(ours),
                "floor_records_per_s": load.records / min(floor),
            }
            row["fraction_of_floor"] = row["records_per_s"] / row["floor_records_per_s"]
            log.info("convert %s: %.0f records/s", load.signal, row["records_per_s"])
            results.append(row)
    return results


def _floor_tables(signal: str, bodies: list[bytes], directory: Path) -> list[str]:
    """The rows ``convert`` writes, one Arrow IPC file per table, and the writer's settings
    (compression, level or -1, row group size) for the floor."""
    import pyarrow as pa

    from benchmarks.pipeline_bench import make_pipeline, mapped_tables

    pipeline = make_pipeline()
    directory.mkdir()
    for i, table in enumerate(mapped_tables(pipeline, signal, "protobuf", bodies)):
        path = str(directory / f"{i}.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as ipc:
            ipc.write_table(table)
    writer = pipeline.engine.writer
    level = -1 if writer.compression_level is None else writer.compression_level
    return [writer.compression, str(level), str(writer.row_group_size)]


def _convert_once(source: Path, signal: str, out: Path) -> float:
    argv = [str(EXE), "--log-level", "warning", "convert", str(source), "-o", str(out)]
    argv += ["--signal", signal, "--format", "protobuf", "--no-progress"]
    return _timed(argv, out)


def _timed(argv: list[str], out: Path) -> float:
    """Wall seconds of one process, from spawn to exit; its output directory goes after."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return seconds


def format_convert(results: list[dict[str, Any]]) -> str:
    header = f"{'signal':<9}{'records':>9}{'MB':>6}{'convert rec/s':>15}{'floor rec/s':>13}"
    header += f"{'of floor':>9}"
    lines = ["whole-process convert (fresh process per run, files on local disk)", header]
    lines.append("-" * len(header))
    for r in results:
        lines.append(
            f"{r['signal']:<9}{r['records']:>9,}{r['input_bytes'] / 2**20:>6.0f}"
            f"{r['records_per_s']:>15,.0f}{r['floor_records_per_s']:>13,.0f}"
            f"{r['fraction_of_floor']:>9.2f}"
        )
    return "\n".join(lines)
