"""Logging setup: text or one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from otlp2parquet.telemetry.redaction import RedactingFilter, Redactor

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
LEVELS = {"trace": "DEBUG", "warn": "WARNING"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ``extra={...}`` fields are kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "text", redactor: Redactor | None = None) -> None:
    """Configure the root logger once for a process (CLI, server, Lambda). Every line goes
    through ``redactor`` (credential-carrying fields are masked even without one)."""
    name = LEVELS.get(level.lower(), level.upper())
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler.addFilter(RedactingFilter(redactor or Redactor()))
    root.addHandler(handler)
    root.setLevel(name)
