"""A plugin for the crash test: each written file's observer call takes a while, which widens
the window between a file's upload and the spool's cleanup where a SIGKILL can land."""

from __future__ import annotations

import time
from typing import Any

from otlp2parquet import hookimpl

DELAY_SECS = 0.1


@hookimpl
def on_batch_written(result: Any) -> None:
    time.sleep(DELAY_SECS)
