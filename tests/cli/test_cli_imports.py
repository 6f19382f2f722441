"""Importing the CLI's entry module and setting up logging (with its secret filter), what every
command does first, pulls in no heavy dependency: not jsonschema, pyarrow or the cloud SDKs.
(Building the argument parser still imports the subcommands: issue 17's lazy imports.)"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("jsonschema", "pyarrow", "numpy", "botocore", "fsspec", "grpc", "pyiceberg")


def test_the_cli_entry_and_logging_setup_stay_light() -> None:
    code = (
        "import json, sys\n"
        "import otlp2parquet.cli.main\n"
        "from otlp2parquet.telemetry.logs import setup_logging\n"
        "setup_logging('debug', 'json')\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
