"""Cold starts. Lambda: a fresh interpreter imports the handler, then answers its first small
request (memory storage), then a warm one. Targets: import ≤ 400 ms, first request ≤ 1 s.
CLI: ``otlp2parquet --version`` and ``--help`` as whole processes, wall time from spawn to
exit, best and median of a few runs. Target: median ≤ 250 ms (issue 17)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

IMPORT_TARGET_MS = 400.0
FIRST_REQUEST_TARGET_MS = 1000.0
CLI_START_TARGET_MS = 250.0
CLI_RUNS = 7
#: Modules the handler import must not load (the request may never need them).
HEAVY = ("pyarrow", "pyiceberg", "falcon", "waitress", "s3fs", "botocore", "numpy")

_PROBE = r"""
import base64, json, sys, time
# As in the Lambda image, which has no pandas (deploy/lambda/requirements.lock): where pandas is
# installed (the test venv, for chDB), pyarrow imports it on the first pa.array(), seconds long.
class NoPandas:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoPandas())
t0 = time.perf_counter()
from otlp2parquet.plugins.platform_lambda import handler
t1 = time.perf_counter()
heavy = sorted(m for m in HEAVY if m in sys.modules)
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
req = logs_service_pb2.ExportLogsServiceRequest()
rl = req.resource_logs.add()
a = rl.resource.attributes.add()
a.key, a.value.string_value = "service.name", "cold"
for i in range(10):
    r = rl.scope_logs.add().log_records.add()
    r.time_unix_nano = 1_714_557_600_000_000_000 + i
    r.body.string_value = f"cold start {i}"
body = req.SerializeToString()
event = {"version": "2.0", "rawPath": "/v1/logs", "body": base64.b64encode(body).decode(),
         "isBase64Encoded": True, "requestContext": {"http": {"method": "POST"}},
         "headers": {"content-type": "application/x-protobuf"}}
t2 = time.perf_counter()
first = handler(event, None)
t3 = time.perf_counter()
warm = handler(event, None)
t4 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_request_ms": (t3 - t2) * 1000,
                  "warm_request_ms": (t4 - t3) * 1000, "heavy_after_import": heavy,
                  "statuses": [first["statusCode"], warm["statusCode"]]}))
"""


def run_cold(
    python: str | None = None, storage: str = "memory", cli_runs: int = CLI_RUNS
) -> dict[str, Any]:
    """Measure in a fresh subprocess; ``storage`` is ``memory`` or ``fs`` (a temporary dir).
    The CLI start-up figures (``cli``, see ``run_cli``) come with it."""
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as cwd:
        env = {
            **os.environ,
            "AWS_LAMBDA_FUNCTION_NAME": "otlp2parquet-coldstart",
            "OTLP2PARQUET_STORAGE_BACKEND": storage,
            "OTLP2PARQUET_STORAGE_PATH": data,
            "OTLP2PARQUET_LOG_LEVEL": "warning",
        }
        for name in ("OTLP2PARQUET_CONFIG", "OTLP2PARQUET_CONFIG_CONTENT"):
            env.pop(name, None)
        code = f"HEAVY = {HEAVY!r}\n{_PROBE}"
        proc = subprocess.run(
            [python or sys.executable, "-X", "frozen_modules=on", "-c", code],
            env=env,
            cwd=cwd,  # no ./config.toml
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"cold-start probe failed: {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["storage"] = storage
    result["import_target_ms"] = IMPORT_TARGET_MS
    result["first_request_target_ms"] = FIRST_REQUEST_TARGET_MS
    result["ok"] = (
        result["import_ms"] <= IMPORT_TARGET_MS
        and result["first_request_ms"] <= FIRST_REQUEST_TARGET_MS
        and not result["heavy_after_import"]
        and result["statuses"] == [200, 200]
    )
    result["cli"] = run_cli(python, cli_runs)
    return result


def cli_command(python: str | None = None) -> list[str]:
    """The ``otlp2parquet`` console script beside the interpreter, as users run it, else
    ``python -m otlp2parquet``."""
    interpreter = python or sys.executable
    script = Path(interpreter).with_name("otlp2parquet")
    return [str(script)] if script.is_file() else [interpreter, "-m", "otlp2parquet"]


def run_cli(python: str | None = None, runs: int = CLI_RUNS) -> dict[str, Any]:
    """Wall time of whole ``--version`` and ``--help`` processes (after one unmeasured run
    each, which warms the file cache): ``{flag: {runs_ms, best_ms, median_ms}}`` and the
    medians as ``version_ms`` and ``help_ms``."""
    command = cli_command(python)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    result: dict[str, Any] = {"command": command, "target_ms": CLI_START_TARGET_MS}
    with tempfile.TemporaryDirectory() as cwd:
        for flag in ("--version", "--help"):
            times = []
            for _ in range(runs + 1):
                began = time.perf_counter()
                subprocess.run([*command, flag], env=env, cwd=cwd, capture_output=True, check=True)
                times.append((time.perf_counter() - began) * 1000)
            measured = times[1:]
            result[flag.lstrip("-")] = {
                "runs_ms": measured,
                "best_ms": min(measured),
                "median_ms": statistics.median(measured),
            }
    result["version_ms"] = result["version"]["median_ms"]
    result["help_ms"] = result["help"]["median_ms"]
    result["ok"] = max(result["version_ms"], result["help_ms"]) <= CLI_START_TARGET_MS
    return result


def format_cold(r: dict[str, Any]) -> str:
    verdict = "within targets" if r["ok"] else "MISSES a target"
    heavy = ", ".join(r["heavy_after_import"]) or "none"
    return (
        f"lambda cold start ({r['storage']} storage): handler import {r['import_ms']:.0f} ms "
        f"(target ≤ {r['import_target_ms']:.0f}), first request {r['first_request_ms']:.0f} ms "
        f"(target ≤ {r['first_request_target_ms']:.0f}), warm request "
        f"{r['warm_request_ms']:.1f} ms; heavy modules after import: {heavy}; {verdict}"
    ) + ("\n" + format_cli(r["cli"]) if "cli" in r else "")


def format_cli(r: dict[str, Any]) -> str:
    verdict = "within target" if r["ok"] else "MISSES the target"
    figures = ", ".join(
        f"--{flag} median {r[flag]['median_ms']:.0f} ms (best {r[flag]['best_ms']:.0f})"
        for flag in ("version", "help")
    )
    runs = len(r["version"]["runs_ms"])
    return (
        f"cli start, whole process, {runs} runs: {figures} "
        f"(target ≤ {r['target_ms']:.0f}); {verdict}"
    )
