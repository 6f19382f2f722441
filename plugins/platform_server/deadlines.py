"""Request deadlines against slow clients (slowloris): a request's headers must arrive within
``server.header_timeout_secs`` and its body within ``server.body_timeout_secs``, both counted
from its first byte.

waitress's ``channel_timeout`` only closes connections that send nothing at all; one byte every
few seconds keeps a connection open for ever. So the channel records when the request it is
reading began (``DeadlineChannel.received``), and the server loop's thread sweeps the channels
every ``SWEEP_SECS`` (``expire``). A request past its deadline is completed as a waitress parse
error (``RequestTimeout``, 408): the channel's error task answers it with a ``google.rpc.Status``
body and closes the connection, as for any malformed request. The clock stops while the channel
is answering an earlier request of the same connection (waitress does not read meanwhile).
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.utilities import Error

log = logging.getLogger(__name__)

#: Seconds between two sweeps of the open connections.
SWEEP_SECS = 0.5
#: File descriptors kept free beyond ``server.connection_limit`` (spool, storage, logs).
SPARE_FDS = 256


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class DeadlineChannel(HTTPChannel):
    """An ``HTTPChannel`` that knows when the request it is reading started."""

    request_started = 0.0
    _timed: Any = None  # the parser whose start is in ``request_started``

    def received(self, data: bytes) -> bool:
        now = time.monotonic()
        result = bool(super().received(data))
        if self.request is not None and self.request is not self._timed:
            self._timed, self.request_started = self.request, now
        return result


def expire(channels: Iterable[Any], header_timeout: float, body_timeout: float) -> int:
    """Answer 408 to every request past its deadline; returns how many. Loop thread only."""
    now = time.monotonic()
    expired = 0
    for channel in channels:
        request = getattr(channel, "request", None)
        if request is None or not isinstance(channel, DeadlineChannel):
            continue
        if channel.requests:  # answering an earlier request: nothing is read meanwhile
            channel.request_started = now
            continue
        body = bool(request.headers_finished)
        limit = body_timeout if body else header_timeout
        if now - channel.request_started < limit or channel.will_close:
            continue
        with channel.requests_lock:
            if channel.request is not request or channel.requests or channel.close_when_flushed:
                continue
            part, key = ("body", "body") if body else ("headers", "header")
            request.error = RequestTimeout(
                f"the request {part} did not arrive within {limit:g} s of its first byte "
                f"(server.{key}_timeout_secs)"
            )
            request.completed = True
            channel.requests.append(request)
            channel.request = None
            channel.server.add_task(channel)
        expired += 1
    if expired:
        log.info("closed %d connection(s) too slow to send their request", expired)
    return expired


def raise_fd_limit(connection_limit: int) -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit; warn if it still cannot hold
    ``connection_limit`` connections."""
    needed = connection_limit + SPARE_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, needed) if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning(
            "the open-file limit (%d) is below server.connection_limit (%d) + %d: raise it "
            "(ulimit -n) or lower server.connection_limit",
            soft,
            connection_limit,
            SPARE_FDS,
        )
