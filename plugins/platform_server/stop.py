"""``StopSignal``: what SIGTERM and SIGINT do to a server process (single or worker)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class StopSignal:
    """SIGTERM and SIGINT set ``event`` (the main thread logs and drains; a second signal
    changes nothing). A worker installs one right after fork, so a signal sent while it is
    still starting is kept, not lost, and its drain starts as soon as it serves."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: list[str] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum).name)
        self.event.set()

    def install(self) -> dict[int, Any]:
        """Handle SIGTERM and SIGINT; returns the handlers they had."""
        return {signum: signal.signal(signum, self) for signum in (signal.SIGTERM, signal.SIGINT)}
