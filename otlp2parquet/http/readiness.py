"""A bounded readiness probe for ``GET /ready``: a hung store can never hold the threads that
ingest needs.

- the check runs in a daemon thread of its own, never in the caller's (request) thread;
- at most one check is in flight; callers share its result, and a result is reused for
  ``ttl`` seconds;
- a check has a deadline (``timeout``): past it, callers are answered "not ready" at once
  while the hung check is left to finish (no second one starts until it does);
- at most ``max_waiters`` callers wait for a check in flight; the others are answered at once
  with the last result (or "not ready" when there is none yet).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from otlp2parquet.errors import Unavailable

log = logging.getLogger(__name__)

#: Seconds a probe's result is reused before the next caller starts a new one.
DEFAULT_TTL = 1.0


@dataclass
class _Check:
    started: float
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    finished: float = 0.0


class ReadinessProbe:
    """Callable like the check it wraps: returns when ready, raises when not."""

    def __init__(
        self,
        check: Callable[[], None],
        timeout: float,
        ttl: float = DEFAULT_TTL,
        max_waiters: int = 1,
    ) -> None:
        self._check = check
        self.timeout = timeout
        self.ttl = ttl
        self.max_waiters = max(1, max_waiters)
        self._lock = threading.Lock()
        self._running: _Check | None = None
        self._last: _Check | None = None
        self._waiters = 0

    def __call__(self) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last
            if last is not None and now - last.finished < self.ttl:
                return self._answer(last)
            running = self._running
            if running is None:
                running = self._running = _Check(now)
                threading.Thread(
                    target=self._run, args=(running,), name="otlp2parquet-ready", daemon=True
                ).start()
            remaining = running.started + self.timeout - now
            if remaining > 0 and self._waiters >= self.max_waiters:
                if last is not None:
                    return self._answer(last)
                raise Unavailable("a readiness check is already running; retry", 1.0)
            if remaining > 0:
                self._waiters += 1
        if remaining <= 0:
            raise self._timed_out()
        try:
            finished = running.done.wait(remaining)
        finally:
            with self._lock:
                self._waiters -= 1
        if not finished:
            raise self._timed_out()
        return self._answer(running)

    def _run(self, check: _Check) -> None:
        try:
            self._check()
        except Exception as exc:  # any failure means "not ready"; the caller reports it
            check.error = exc
        finally:
            check.finished = time.monotonic()
            with self._lock:
                self._running = None
                self._last = check
            check.done.set()

    def _timed_out(self) -> Unavailable:
        return Unavailable(
            f"the storage check did not answer within {self.timeout:g} s "
            "(server.ready_timeout_secs)"
        )

    @staticmethod
    def _answer(check: _Check) -> None:
        if check.error is not None:  # a fresh error each time: callers share the result
            raise Unavailable(str(check.error) or type(check.error).__name__)
