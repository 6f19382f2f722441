"""The built wheel installs into a clean environment and ships every plugin and schema file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import importlib, importlib.resources, sys
import otlp2parquet
assert "site-packages" in otlp2parquet.__file__, otlp2parquet.__file__
from otlp2parquet.plugin.manager import BUILTIN_PLUGINS
for name in BUILTIN_PLUGINS:
    importlib.import_module(name)
files = sorted(p.name for p in importlib.resources.files("otlp2parquet.schemas").iterdir()
               if p.name.endswith((".toml", ".json")))
print(",".join(files))
from otlp2parquet.cli.main import main
sys.exit(main(["plugins"]))
"""


@pytest.mark.slow
def test_wheel_installs_and_imports_everything_in_clean_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # setuptools packs whatever build/lib holds: a module moved since an earlier build would
    # ship in the wheel (and hide or cause an import error), so the wheel is built from nothing.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("otlp2parquet-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True
    )
    # Dependencies come from the test environment's site-packages, added as a plain path entry
    # (its .pth files, including the editable install's finder, are not processed there).
    site = subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = subprocess.run(
        [str(python), "-c", CHECK], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    schema_files = result.stdout.splitlines()[0].split(",")
    assert schema_files == sorted(
        p.name for p in (ROOT / "schemas").iterdir() if p.suffix in (".toml", ".json")
    )
    assert "config.schema.json" in schema_files
    assert "storage_fsspec: " in result.stdout
