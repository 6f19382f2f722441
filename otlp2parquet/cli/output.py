"""The CLI's output helper: results go to stdout, diagnostics to stderr through logging."""

from __future__ import annotations

import sys


def emit(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def error_line(text: str) -> None:
    sys.stderr.write(f"otlp2parquet: error: {text}\n")
    sys.stderr.flush()
