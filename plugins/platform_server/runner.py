"""Runs the falcon app on waitress until SIGTERM or SIGINT, then shuts down gracefully:

1. stop accepting connections; ``/ready`` and new ingest requests answer 503 (draining);
2. wait for the requests in flight, so everything acknowledged is in the buffers;
3. ``pipeline.close()`` flushes every buffer to storage;
4. send the last responses, close the connections and exit 0 (1 if the flush failed).

waitress's asyncore loop runs in a thread of its own while the main thread waits for a signal,
so the loop keeps delivering responses during the drain; sockets are only touched from the
loop's thread (between polls).
"""

from __future__ import annotations

import logging
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import ConfigError, Otlp2ParquetError, PayloadTooLarge
from otlp2parquet.http.errors import HttpError
from otlp2parquet.http.otlp import OtlpHttp
from otlp2parquet.http.readiness import ReadinessProbe

from .companions import Companions
from .stop import StopSignal

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.pipeline.core import Pipeline

log = logging.getLogger(__name__)

#: Seconds given to the last responses and connections once the buffers are flushed.
CLOSE_TIMEOUT = 5.0
_POLL = 0.2


def _warm_pyarrow() -> None:
    """Pay pyarrow's one-time setup before listening: its first ``pa.array()`` imports pandas
    wherever pandas is installed, which takes seconds and must not be the first request's."""
    import pyarrow as pa

    pa.array([0])


def serve(
    runtime: Runtime,
    options: dict[str, Any],
    sockets: list[socket.socket] | None = None,
    stop: StopSignal | None = None,
) -> int:
    """Serve ``runtime``'s pipeline on ``options["listen_addr"]`` (or on ``sockets`` already
    listening) until ``stop`` (SIGTERM, SIGINT); returns the exit status. ``server.workers`` > 1
    runs it in worker processes."""
    import waitress

    from .app import create_app

    if sockets is None and int(options.get("workers") or 1) > 1:
        from .workers import supervise

        return supervise(runtime, options, serve)
    from .deadlines import raise_fd_limit

    raise_fd_limit(int(options["connection_limit"]))
    _warm_pyarrow()
    pipeline = runtime.pipeline(durable=True)  # replays what a previous run did not write
    handler = OtlpHttp.from_config(runtime.config, pipeline, runtime.telemetry)
    # /ready's storage check runs off the request threads, bounded; a quarter of them may wait
    handler.readiness = ReadinessProbe(
        pipeline.check_ready,
        float(options["ready_timeout_secs"]),
        max_waiters=max(1, int(options["threads"]) // 4),
    )
    limit = handler.max_payload_bytes
    socket_map: dict[int, Any] = {}
    addr = options["listen_addr"]
    try:
        waitress.create_server(
            create_app(handler, bool(runtime.config.get("telemetry.metrics_endpoint"))),
            map=socket_map,
            **({"sockets": sockets} if sockets else {"listen": addr}),
            threads=int(options["threads"]),
            connection_limit=int(options["connection_limit"]),
            channel_timeout=int(options["channel_timeout_secs"]),
            # stalled clients are closed within 1.5 x channel_timeout (waitress checks every 30 s)
            cleanup_interval=max(1, min(30, int(options["channel_timeout_secs"]) // 2)),
            # waitress refuses a Content-Length over the limit before reading, and stops
            # reading a chunked body soon after it (the allowance covers chunk framing, which
            # waitress counts; the app enforces the exact limit on the decoded body).
            max_request_body_size=limit + 1 + max(64 * 1024, limit // 8),
            ident="otlp2parquet",
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        origin = runtime.config.origin("server.listen_addr")
        raise ConfigError(
            f"cannot listen on {addr} (server.listen_addr from {origin}): "
            f"{exc.strerror or exc}; choose another address or port (--host, --port)"
        ) from None
    loop = ServerLoop(
        socket_map,
        handler,
        (float(options["header_timeout_secs"]), float(options["body_timeout_secs"])),
    )
    companions = Companions(runtime, pipeline, options)
    companions.start()  # gRPC receiver, self-telemetry
    pipeline.start()
    stop = stop or StopSignal()
    previous = stop.install()
    try:
        loop.start()
        for host, port in loop.listening():
            log.info("listening on http://%s:%s", host, port, extra={"host": host, "port": port})
        log.info(
            "writing Parquet to %s (batching %s)",
            pipeline.storage.url(""),
            "on" if runtime.config.get("batch.enabled") else "off",
            extra={"storage": pipeline.storage.url(""), "threads": options["threads"]},
        )
        while not stop.event.wait(_POLL):
            if not loop.is_alive():
                log.error("the server loop stopped unexpectedly")
                break
        if stop.received:
            log.info("%s received", stop.received[0])
        drain = float(options["drain_timeout_secs"])
        timeout = min(float(options["channel_timeout_secs"]), drain)
        return _shutdown(loop, handler, pipeline, timeout, companions, drain)
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _shutdown(
    loop: ServerLoop,
    handler: OtlpHttp,
    pipeline: Pipeline,
    timeout: float,
    companions: Companions | None = None,
    drain_timeout: float | None = None,
) -> int:
    log.info("draining: no new requests; flushing buffers")
    started = time.monotonic()
    loop.call(loop.stop_accepting)
    handler.begin_drain()
    if companions is not None:
        companions.drain(timeout)
    if not handler.wait_idle(timeout):
        log.warning("requests still in flight after %.0f s; flushing anyway", timeout)
    if companions is not None:
        companions.stop()
    left = None if drain_timeout is None else drain_timeout - (time.monotonic() - started)
    status = _close(pipeline, left if pipeline.spool is not None else None)
    stats = pipeline.stats
    log.info(
        "stopped: %d file(s), %d row(s) written",
        stats.files_written,
        stats.rows_written,
        extra={"files_written": stats.files_written, "rows_written": stats.rows_written},
    )
    loop.finish(CLOSE_TIMEOUT)
    return status


def _close(pipeline: Pipeline, timeout: float | None) -> int:
    """Flush and close the pipeline; 1 when something stayed unwritten. With ``timeout`` (the
    rest of ``server.drain_timeout_secs``, given when a spool holds every acknowledged
    request) a store that hangs cannot hold the stop past it: what was not written stays in
    the spool for the next start."""
    outcome: list[int] = []

    def close() -> None:
        try:
            pipeline.close()
            outcome.append(0)
        except Otlp2ParquetError as exc:
            kept = "; they stay in the spool for the next start" if pipeline.spool else ""
            log.error("could not flush every buffer on shutdown: %s%s", exc, kept)
            outcome.append(1)

    if timeout is None:
        close()
        return outcome[0]
    closer = threading.Thread(target=close, name="otlp2parquet-close", daemon=True)
    closer.start()
    closer.join(max(timeout, 0.0))
    if closer.is_alive():
        log.error(
            "the final flush did not finish within server.drain_timeout_secs; stopping "
            "anyway: what was not written stays in the spool for the next start"
        )
        return 1
    return outcome[0]


class ServerLoop(threading.Thread):
    """waitress's asyncore loop, polled in short steps so that socket work asked for by other
    threads (``call``) runs in this thread."""

    def __init__(
        self,
        socket_map: dict[int, Any],
        handler: OtlpHttp,
        deadlines: tuple[float, float] = (10.0, 30.0),
    ) -> None:
        super().__init__(name="otlp2parquet-http", daemon=True)
        self.deadlines = deadlines  # (headers, body) seconds from a request's first byte
        from waitress.server import BaseWSGIServer

        self.map = socket_map
        self.servers = [o for o in socket_map.values() if isinstance(o, BaseWSGIServer)]
        self.dispatcher = self.servers[0].task_dispatcher
        self._calls: queue.Queue[Callable[[], None]] = queue.Queue()
        self._closing = threading.Event()
        self._deadline = 0.0
        channel_class = status_channel_class(handler)
        for server in self.servers:
            server.channel_class = channel_class

    def listening(self) -> list[tuple[str, int]]:
        return [(s.effective_host, s.effective_port) for s in self.servers]

    def call(self, func: Callable[[], None]) -> None:
        """Run ``func`` in the loop thread at the next poll."""
        self._calls.put(func)

    def stop_accepting(self) -> None:
        from waitress import wasyncore

        for server in self.servers:  # the listening sockets only; the triggers stay open
            wasyncore.dispatcher.close(server)

    def finish(self, timeout: float) -> None:
        """Let the workers end, flush the last responses, close everything, end the loop."""
        self.dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        self._deadline = time.monotonic() + timeout
        self._closing.set()
        self.join(timeout + 1)

    def run(self) -> None:
        from waitress import wasyncore
        from waitress.channel import HTTPChannel

        from .deadlines import SWEEP_SECS, expire

        next_sweep = 0.0
        while self.map:
            # poll(), not select(): select cannot watch descriptors past FD_SETSIZE (1024)
            wasyncore.loop(timeout=_POLL, map=self.map, use_poll=True, count=1)
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + SWEEP_SECS
                expire(list(self.map.values()), *self.deadlines)
            while not self._calls.empty():
                func = self._calls.get_nowait()
                try:
                    func()
                except Exception:  # the loop must outlive a failed call; it is logged
                    log.exception("server loop call %r failed", func)
            if self._closing.is_set():
                channels = [o for o in self.map.values() if isinstance(o, HTTPChannel)]
                for channel in channels:
                    channel.close_when_flushed = True
                if not channels or time.monotonic() > self._deadline:
                    wasyncore.close_all(self.map)


def status_channel_class(handler: OtlpHttp) -> type:
    """A waitress channel with request deadlines whose own refusals (a body over the limit, a
    malformed request, a request too slow to arrive) carry a ``google.rpc.Status`` body like
    every other error."""
    from waitress.task import ErrorTask

    from .deadlines import DeadlineChannel

    class StatusErrorTask(ErrorTask):
        def execute(self) -> None:
            error = self.request.error
            headers = {k.replace("_", "-"): v for k, v in self.request.headers.items()}
            exc: Exception = (
                PayloadTooLarge(
                    f"request body is larger than the {handler.max_payload_bytes}-byte limit "
                    "(request.max_payload_bytes)"
                )
                if error.code == 413
                else HttpError(error.code, f"{error.reason}: {error.body}")
            )
            response = handler.error(exc, headers)
            self.status = f"{response.status} {error.reason}"
            self.response_headers.extend(response.headers)
            self.set_close_on_finish()
            self.content_length = len(response.body)
            self.write(response.body)

    class StatusChannel(DeadlineChannel):
        error_task_class = StatusErrorTask

    return StatusChannel
