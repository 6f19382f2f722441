"""Run the smoke suite (tests/test_smoke.py) in fresh venvs under ``.venv-smoke/``:

- ``lowest``: the lowest versions the ranges in pyproject.toml allow (every extra, and the
  setuptools floor as the build backend);
- ``newest``: the newest versions those ranges allow today;
- ``runtime``: the locked versions of the runtime dependencies alone: no extras, no pandas.

Usage: ``python scripts/smoke.py [lowest] [newest] [runtime]`` (all three by default), with
``uv`` beside this Python (``make smoke`` runs it from ``.venv``). Exits 1 when one run fails,
after trying them all, so a range that lies fails CI instead of a user."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).with_name("uv")
RUNS = ("lowest", "newest", "runtime")


def build_backend_floor() -> str:
    """``setuptools==<floor>`` from ``[build-system] requires``."""
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    (backend,) = [r for r in requires if r.startswith("setuptools")]
    floor = re.fullmatch(r"setuptools>=([\w.]+)", backend)
    if floor is None:
        raise SystemExit(f"smoke: cannot read the setuptools floor from {backend!r}")
    return f"setuptools=={floor.group(1)}"


def install_arguments(run: str, scratch: Path) -> list[str]:
    if run == "lowest":
        constraints = scratch / "build-constraints.txt"
        constraints.write_text(build_backend_floor() + "\n")
        return ["--resolution", "lowest-direct", "--build-constraints", str(constraints),
                ".[all]", "--group", "smoke"]  # fmt: skip
    if run == "newest":
        return ["--resolution", "highest", "--upgrade", ".[all]", "--group", "smoke"]
    return ["--constraints", "requirements.lock", ".", "--group", "smoke"]


def smoke(run: str, scratch: Path) -> bool:
    venv = ROOT / ".venv-smoke" / run
    python = venv / "bin" / "python"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(venv)}
    install = [str(UV), "pip", "install", "--quiet", "--python", str(python)]
    steps = [
        [str(UV), "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)],
        [*install, "--reinstall-package", "otlp2parquet", *install_arguments(run, scratch)],
        [str(UV), "pip", "list", "--python", str(python)],
    ]
    if run == "runtime":  # the bare package must not need pandas: prove it is not there
        steps.append([str(python), "-c", "import importlib.util as u; "
                      "assert u.find_spec('pandas') is None, 'pandas is installed'"])  # fmt: skip
    # bin/pytest (not python -m pytest) keeps the source tree off sys.path: the installed
    # package is what runs.
    steps.append([str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider",
                  "tests/test_smoke.py"])  # fmt: skip
    for step in steps:
        sys.stderr.write(f"smoke[{run}]: {' '.join(step[:4])} ...\n")
        if subprocess.run(step, cwd=ROOT, env=env).returncode != 0:
            sys.stderr.write(f"smoke[{run}]: FAILED at: {' '.join(step)}\n")
            return False
    return True


def main(argv: list[str]) -> int:
    runs = argv or list(RUNS)
    unknown = sorted(set(runs) - set(RUNS))
    if unknown:
        sys.stderr.write(f"smoke: unknown run {unknown}; choose from {', '.join(RUNS)}\n")
        return 2
    if not UV.exists():
        sys.stderr.write(f"smoke: {UV} not found; run `make install` first\n")
        return 2
    # setuptools packs whatever build/lib holds, so a module moved or deleted since an earlier
    # build would ship in the wheel: every smoke install builds from nothing.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        failed = [run for run in runs if not smoke(run, Path(scratch))]
    if failed:
        sys.stderr.write(f"smoke: failed: {', '.join(failed)}\n")
        return 1
    sys.stderr.write(f"smoke: passed: {', '.join(runs)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
