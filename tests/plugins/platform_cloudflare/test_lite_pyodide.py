"""The lite path inside real Pyodide (the runtime of Cloudflare's Python Workers) under Node: the
npm package ``pyodide`` (runtime and standard library, no network at run time) is installed into
``tests/pyodide/`` on first use. Inside it, the copy of otlp2parquet that ``deploy cloudflare``
makes writes given columns with the lite writer, and decodes protobuf requests of every signal
(protobuf's pure-Python implementation), maps them with the lite mappers and writes them; the
files are read here with DuckDB and pyarrow and compared with the pyarrow path's. Skipped when
Node.js, npm or the package is not available."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import google.protobuf
import opentelemetry.proto
import pluggy
import pyarrow.parquet as pq
import pytest
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import read_manifest_list

from otlp2parquet.cli.deploy import vendor
from otlp2parquet.engine.arrow_writer import ParquetWriter
from otlp2parquet.schema.tables import load_table_schema
from support.iceberg_tables import iceberg_logs_table
from support.lite_mappers import lite_mapper
from support.signal_samples import decoder, full_requests, mapper

HERE = Path(__file__).parents[2]  # tests/
PYODIDE_DIR = HERE / "pyodide"


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed to run Pyodide")
    if not (PYODIDE_DIR / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
            cwd=PYODIDE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm could not install pyodide: {done.stderr.strip()[-300:]}")
    return node


def tables_for(requests: dict[str, Any]) -> dict[str, tuple[list[list[Any]], Any]]:
    """Every table of the sample requests: lite columns and the pyarrow path's table."""
    found = {}
    for signal, request in requests.items():
        decoded = decoder("protobuf").decode(request.SerializeToString(), signal)
        lite = lite_mapper(signal).map(decoded)
        normal = mapper(signal).map(decoded)
        for name, table in lite.tables.items():
            found[name] = (table.columns, normal.tables[name])
    return found


def copy_pure(package: Any, stage: Path) -> None:
    """A pure-Python package's files (no compiled extensions) into the stage, at its import path."""
    source = Path(package.__path__[0])
    target = stage.joinpath(*package.__name__.split("."))
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.so"))


def test_the_lite_path_runs_in_pyodide(node: str, tmp_path: Path) -> None:
    stage, out = tmp_path / "stage", tmp_path / "out"
    vendor(stage)  # otlp2parquet as the Worker gets it
    for package in (pluggy, google.protobuf, opentelemetry.proto):
        copy_pure(package, stage)  # protobuf runs as its pure-Python implementation
    requests = full_requests()
    for signal, request in requests.items():
        (stage / f"{signal}.pb").write_bytes(request.SerializeToString())
    tables = tables_for(requests)
    columns = {name: columns for name, (columns, _) in tables.items()}
    (stage / "columns.json").write_text(json.dumps(columns))
    table = iceberg_logs_table(tmp_path)
    iceberg = {
        "metadata": table.metadata.model_dump(by_alias=True, mode="json"),
        "manifest_path": str(out / "manifest.avro"),
        "service": "checkout",
    }
    (stage / "iceberg.json").write_text(json.dumps(iceberg))
    done = subprocess.run(
        [node, "run.mjs", str(stage), str(HERE / "support" / "pyodide_lite_script.py"), str(out)],
        cwd=PYODIDE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["platform"] == "emscripten" and report["pyarrow"] is False
    assert not report["numpy_loaded"]
    assert report["protobuf"] == "python"
    assert report["rows"] == {name: table.num_rows for name, (_, table) in tables.items()}
    assert len(tables) == 7  # logs, traces and the five metric tables
    for name, (_, expected) in tables.items():
        schema = load_table_schema(name)
        written = out / f"{name}.parquet"
        normal = tmp_path / f"normal-{name}.parquet"
        normal.write_bytes(ParquetWriter().to_bytes(expected, schema))
        assert pq.read_schema(written).equals(pq.read_schema(normal)), name
        file = pq.ParquetFile(io.BytesIO(written.read_bytes()))
        assert file.metadata.num_row_groups == -(-expected.num_rows // 2)
        assert file.metadata.row_group(0).column(0).compression == "GZIP"
        rows = [
            duckdb.sql(f"SELECT * FROM read_parquet('{p}')").fetchall() for p in (written, normal)
        ]
        assert repr(rows[0]) == repr(rows[1]), name
    io_ = PyArrowFileIO()
    (listed,) = read_manifest_list(io_.new_input(str(out / "manifest-list.avro")))
    assert listed.added_snapshot_id == 7 and listed.added_rows_count == report["rows"]["logs"]
    (entry,) = listed.fetch_manifest_entry(io_)
    assert entry.data_file.file_path == "s3://otlp-data/logs/mapped-logs.parquet"
    assert entry.data_file.record_count == report["rows"]["logs"]
    assert entry.data_file.partition[0] == "checkout"
