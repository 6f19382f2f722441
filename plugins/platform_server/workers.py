"""``server.workers = N``: N worker processes sharing one listening socket.

The parent binds the listening socket(s) and forks the workers before anything else starts (no
pipeline, no thread exists yet, so forking is safe); each worker builds its own pipeline and runs
the ordinary server (``runner.serve``) on the inherited socket, so the kernel hands each new
connection to whichever worker accepts it first. The parent only supervises:

- SIGTERM or SIGINT: it closes its copy of the socket and forwards the signal; every worker
  drains and flushes as a single server does; the parent exits 0 once all of them exited 0
  (1 otherwise). A worker still alive ``server.drain_timeout_secs`` after the signal (hung,
  stopped) is SIGKILLed and counts as failed: what it acknowledged is in its spool, replayed by
  the worker of the same index on the next start;
- a signal can never be lost: SIGTERM and SIGINT are blocked across ``fork`` and a worker
  installs its own handler before unblocking them, so a signal that arrives while a worker is
  still starting is kept and drains it as soon as it serves (before, it either killed the
  worker outright or, landing between fork and the handler, was dropped and the worker ran on
  for ever);
- a worker that dies on its own is logged and replaced, unless workers keep dying
  (``MAX_RESTARTS`` within ``RESTART_WINDOW_SECS``): then the rest are stopped and the exit is 1.

Each worker logs with its index and pid, and has a spool of its own (worker 0 the configured
one, worker i a sibling ``<spool_dir>-worker-<i>``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from otlp2parquet.config.layers import Layer
from otlp2parquet.errors import ConfigError

from .stop import StopSignal

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime

log = logging.getLogger(__name__)

MAX_RESTARTS = 5
RESTART_WINDOW_SECS = 60.0
_POLL = 0.2
ServeFn = Callable[..., int]  # runner.serve(runtime, options, sockets, stop)
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def bind(runtime: Runtime, addr: str, backlog: int = 1024) -> list[socket.socket]:
    """Listening sockets for ``addr`` (one per address it resolves to); ConfigError if busy."""
    from waitress.adjustments import Adjustments

    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, sockaddr in Adjustments(listen=addr).listen:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(backlog)
    except (OSError, ValueError) as exc:
        for sock in sockets:
            sock.close()
        origin = runtime.config.origin("server.listen_addr")
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(
            f"cannot listen on {addr} (server.listen_addr from {origin}): {reason}; "
            "choose another address or port (--host, --port)"
        ) from None
    return sockets


def supervise(runtime: Runtime, options: dict[str, Any], serve: ServeFn) -> int:
    """Fork ``server.workers`` workers running ``serve`` on shared sockets; see the module doc."""
    count = int(options["workers"])
    sockets = bind(runtime, str(options["listen_addr"]))
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        log.info("listening on http://%s:%s with %d workers", host, port, count)
    stop: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stop.append(signum)

    previous: dict[int, Any] = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    workers: dict[int, int] = {}  # pid → index
    failed = False
    restarts: list[float] = []
    try:
        for index in range(count):
            workers[_fork(runtime, options, serve, sockets, index)] = index
        while workers and not stop:
            pid, status = _reap(block=False)
            if pid in workers:
                index = workers.pop(pid)
                log.error("worker %d (pid %d) exited with status %d", index, pid, status)
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < RESTART_WINDOW_SECS] + [now]
                if len(restarts) > MAX_RESTARTS:
                    log.error("workers keep exiting; stopping the server")
                    failed = True
                    stop.append(signal.SIGTERM)
                    break
                workers[_fork(runtime, options, serve, sockets, index)] = index
            elif not pid:
                time.sleep(_POLL)
        for sock in sockets:  # no new connections once the workers close theirs
            sock.close()
        if stop:
            log.info("%s received; stopping %d workers", signal.Signals(stop[0]).name, len(workers))
        for pid in workers:
            _kill(pid, stop[0] if stop else signal.SIGTERM)
        failed |= _wait_drained(workers, float(options["drain_timeout_secs"]))
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    return 1 if failed else 0


def _wait_drained(workers: dict[int, int], timeout: float) -> bool:
    """Reap every worker; SIGKILL those still alive after ``timeout``. True if any failed."""
    failed = False
    deadline = time.monotonic() + timeout
    while workers:
        pid, status = _reap(block=False)
        if pid in workers:
            index = workers.pop(pid)
            failed |= status != 0
            log.info("worker %d (pid %d) exited with status %d", index, pid, status)
        elif not pid and time.monotonic() >= deadline:
            for pid, index in workers.items():
                log.error(
                    "worker %d (pid %d) did not stop within %.0f s (server.drain_timeout_secs); "
                    "killing it: its spool is replayed on the next start",
                    index,
                    pid,
                    timeout,
                )
                _kill(pid, signal.SIGKILL)
            deadline = float("inf")
            failed = True
        elif not pid:
            time.sleep(_POLL / 4)
    return failed


def _fork(
    runtime: Runtime,
    options: dict[str, Any],
    serve: ServeFn,
    sockets: list[socket.socket],
    index: int,
) -> int:
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return pid
    status = 1
    try:
        stop = StopSignal()  # before unblocking: a signal sent meanwhile is pending, not lost
        stop.install()
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        _tag_logs(index)
        runtime = _own_spool(runtime, index)
        status = serve(runtime, options, sockets, stop)
    except BaseException:  # the worker must always leave through os._exit; logged here
        log.exception("worker %d failed", index)
    finally:
        logging.shutdown()
        os._exit(status)


def _reap(block: bool) -> tuple[int, int]:
    """(pid, exit status) of a child that ended, (0, 0) if none (or none left)."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return 0, 0
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue
        if pid == 0:
            return 0, 0
        return pid, os.waitstatus_to_exitcode(status)


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        log.debug("worker pid %d already gone", pid)


class _WorkerTag(logging.Filter):
    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self.index
        return True


def _tag_logs(index: int) -> None:
    """Worker index and pid on every log line (JSON logs get a ``worker`` field; ``process``
    is in the text format)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_WorkerTag(index))
        formatter = handler.formatter
        if formatter is None or type(formatter) is logging.Formatter:
            handler.setFormatter(
                logging.Formatter(
                    "%(asctime)s %(levelname)s %(name)s [worker %(worker)s pid %(process)d]: "
                    "%(message)s"
                )
            )


def _own_spool(runtime: Runtime, index: int) -> Runtime:
    """Worker ``index`` > 0 spools to ``<spool_dir>-worker-<index>``: a spool has one owner."""
    if index == 0 or not runtime.config.get("durability.enabled"):
        return runtime
    from otlp2parquet.durability.setup import spool_directory

    base = spool_directory(runtime.config)
    if base is None:
        return runtime
    path = base.with_name(f"{base.name}-worker-{index}")
    return runtime.derive(
        Layer(
            "cli",  # above every other source: a spool has one owner
            {"durability": {"spool_dir": str(path)}},
            f"server.workers (worker {index})",
            {"durability.spool_dir": f"server.workers: worker {index}'s own spool"},
        )
    )
