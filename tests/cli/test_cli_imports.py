"""What the CLI imports: its entry module and logging setup pull in no heavy dependency, and
``--version``, ``--help`` and a subcommand's ``--help`` import only what they need (issue 17).
Each is run in a fresh interpreter, which reports ``sys.modules`` as it exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from otlp2parquet.cli.main import COMMANDS

HEAVY = (
    "jsonschema",
    "pyarrow",
    "numpy",
    "botocore",
    "fsspec",
    "grpc",
    "pyiceberg",
    "falcon",
    "waitress",
    "google.protobuf",
    "msgspec",
    "pluggy",
    "duckdb",
)


#: Runs ``python -m otlp2parquet ARGV`` and, at exit, prints every loaded module's name.
#: (``-X importtime`` would not do: it misses modules loaded by ``importlib.import_module``.)
PROBE = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["otlp2parquet", *json.loads(sys.argv[1])]
runpy.run_module("otlp2parquet", run_name="__main__", alter_sys=True)
"""


def imported_by(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Every module a fresh ``python -m otlp2parquet ARGS`` has loaded when it exits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
    )
    last = proc.stderr.rstrip().rpartition("\n")[2]
    assert last.startswith("MODULES "), proc.stderr[-2000:]
    return set(json.loads(last.removeprefix("MODULES "))), proc


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in HEAVY if any(n == m or n.startswith(m + ".") for n in modules))


def test_the_cli_entry_and_logging_setup_stay_light() -> None:
    code = (
        "import json, sys\n"
        "import otlp2parquet.cli.main\n"
        "from otlp2parquet.telemetry.logs import setup_logging\n"
        "setup_logging('debug', 'json')\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # pluggy comes with nothing here: `from otlp2parquet import hookimpl` loads it on first use.
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_no_subcommand_and_no_heavy_module(flag: str) -> None:
    modules, proc = imported_by(flag)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert heavy_in(modules) == []
    assert sorted(m for m in modules if m.startswith("otlp2parquet.cli.")) == [
        "otlp2parquet.cli.main"
    ]


def test_help_lists_every_subcommand_with_its_help_line() -> None:
    _, proc = imported_by("--help")
    listing = " ".join(proc.stdout.split())  # argparse wraps long help lines
    for name, help in COMMANDS:
        assert f" {name} {help} " in listing, name


def test_a_subcommand_imports_its_own_module_and_no_other() -> None:
    modules, proc = imported_by("deploy", "cloudflare", "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage: otlp2parquet deploy cloudflare" in proc.stdout
    commands = {f"otlp2parquet.cli.{name}" for name, _ in COMMANDS}
    assert sorted(modules & commands) == ["otlp2parquet.cli.deploy"]
    assert heavy_in(modules) == []


@pytest.mark.parametrize("command", [name for name, _ in COMMANDS])
def test_a_subcommands_help_loads_no_config_machinery(command: str) -> None:
    """Bootstrapping (jsonschema, the plugins) waits for the command to run; only convert,
    whose write observer is a hook implementation, loads pluggy for its --help."""
    modules, proc = imported_by(command, "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"usage: otlp2parquet {command}" in proc.stdout
    assert heavy_in(modules) == (["pluggy"] if command == "convert" else [])
    assert "otlp2parquet.assembly" not in modules
