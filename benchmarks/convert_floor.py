"""The whole-process floor beside ``convert`` (``python -m benchmarks.convert_floor``): a fresh
process that imports only pyarrow and the request's upb module, reads the framed requests and
parses each (``ParseFromString``), and writes the rows ``convert`` writes (read from Arrow IPC
files, memory-mapped) with ``pq.write_table`` and our writer's settings, to local disk."""

from __future__ import annotations

import importlib
import struct
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MODULES = {
    "logs": "opentelemetry.proto.collector.logs.v1.logs_service_pb2.ExportLogsServiceRequest",
    "traces": "opentelemetry.proto.collector.trace.v1.trace_service_pb2.ExportTraceServiceRequest",
    "metrics": (
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2.ExportMetricsServiceRequest"
    ),
}


def main(signal: str, source: Path, tables: Path, out: Path, settings: list[str]) -> None:
    compression, level, row_group = settings[0], int(settings[1]), int(settings[2])
    module, _, name = MODULES[signal].rpartition(".")
    kind = getattr(importlib.import_module(module), name)
    data = source.read_bytes()
    at = 0
    while at < len(data):
        (size,) = struct.unpack_from(">I", data, at)
        kind.FromString(data[at + 4 : at + 4 + size])
        at += 4 + size
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(tables.glob("*.arrow")):  # one per table
        with pa.memory_map(str(path)) as stream:
            table = pa.ipc.open_file(stream).read_all()
            pq.write_table(
                table,
                str(out / f"{path.stem}.parquet"),
                compression=None if compression == "none" else compression,
                compression_level=level if level >= 0 else None,
                row_group_size=row_group,
                use_dictionary=True,
                write_statistics=True,
                write_page_index=True,
            )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5:])
