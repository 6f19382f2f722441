"""``skip_pandas_probe``: serve and convert start without importing pandas, and pandas still
works for whatever needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pandas")  # the probe costs something only where pandas is installed


def _python(code: str, cwd: Path | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_the_skip_pyarrow_imports_pandas_at_the_first_array() -> None:
    got = _python("import sys, json, pyarrow as pa; pa.array([0]); "
                  "print(json.dumps('pandas' in sys.modules))")  # fmt: skip
    assert got is True  # what the skip is for: if pyarrow stops doing this, drop the skip


def test_after_the_skip_arrays_import_no_pandas_and_to_pandas_still_works() -> None:
    code = """
import json, sys
import numpy as np, pyarrow as pa
from otlp2parquet.engine.pandas_probe import skip_pandas_probe
skip_pandas_probe()
pa.array([1, 2]); pa.array(np.arange(3)); pa.array(["a"], pa.string())
before = "pandas" in sys.modules
frame = pa.table({"a": [1, 2]}).to_pandas()
print(json.dumps([before, frame["a"].tolist(), "pandas" in sys.modules]))
"""
    assert _python(code) == [False, [1, 2], True]


def test_with_pandas_already_imported_nothing_changes() -> None:
    code = """
import json
import pandas as pd, pyarrow as pa
from otlp2parquet.engine.pandas_probe import skip_pandas_probe
skip_pandas_probe()
array = pa.array(pd.Series(["x", "y", "x"], dtype="category"))
print(json.dumps([pa.types.is_dictionary(array.type), array.indices.to_pylist()]))
"""
    assert _python(code) == [True, [0, 1, 0]]  # read as pandas, not as a plain sequence


def test_convert_runs_without_importing_pandas(tmp_path: Path) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.add(time_unix_nano=10**18)
    (tmp_path / "logs.pb").write_bytes(request.SerializeToString())
    code = """
import json, sys
from otlp2parquet.cli.main import main
status = main(["--log-level", "warning", "convert", "logs.pb", "-o", "lake", "--no-progress"])
print(json.dumps([status, "pandas" in sys.modules]))
"""
    assert _python(code, cwd=tmp_path) == [0, False]
    assert list((tmp_path / "lake").rglob("*.parquet"))
