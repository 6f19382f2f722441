"""Transport-neutral OTLP/HTTP: routes, request checks, auth, CORS, ingest and draining.

Every platform adapter (the waitress server, AWS Lambda, Cloudflare) turns its request into
``OtlpHttp.handle(method, path, headers, body)`` and writes back the ``Response``, so routes,
statuses and OTLP response bodies are the same everywhere. ``body`` is either the bytes or a
callable ``read(limit)`` that streams them and raises ``PayloadTooLarge`` past ``limit``; it is
called only once the headers passed every check.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from otlp2parquet.errors import Otlp2ParquetError, Unavailable, UnsupportedMediaType
from otlp2parquet.http.auth import Authenticator
from otlp2parquet.http.bodies import check_encoding, check_size, media_type
from otlp2parquet.http.errors import HttpError
from otlp2parquet.http.responses import Response, error_response, export_response
from otlp2parquet.telemetry.metrics import Telemetry
from otlp2parquet.telemetry.redaction import Redactor

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config
    from otlp2parquet.pipeline.core import Pipeline

log = logging.getLogger(__name__)

SIGNAL_PATHS = {"/v1/logs": "logs", "/v1/traces": "traces", "/v1/metrics": "metrics"}
HEALTH_PATH = "/health"
READY_PATH = "/ready"
PATHS = (*SIGNAL_PATHS, HEALTH_PATH, READY_PATH)
#: Seconds a client is asked to wait before retrying while the server drains.
DRAIN_RETRY_AFTER = 5.0
#: The whole ``/ready`` 503 message for callers that are not authenticated.
NOT_READY = "not ready: storage is unreachable; the server log has the details"
CORS_ALLOW_HEADERS = "Content-Type, Content-Encoding, Authorization"
CORS_MAX_AGE = "86400"
_CHUNK = 64 * 1024

Body = bytes | Callable[[int], bytes]


def read_limited(read: Callable[[int], bytes], limit: int) -> bytes:
    """Read a stream in chunks, stopping with ``PayloadTooLarge`` once it passes ``limit``."""
    out = bytearray()
    while True:
        chunk = read(min(_CHUNK, limit + 1 - len(out)))
        if not chunk:
            return bytes(out)
        out += chunk
        check_size(len(out), limit, "as sent")


class OtlpHttp:
    """The OTLP/HTTP endpoints over one pipeline. Thread-safe."""

    def __init__(
        self,
        pipeline: Pipeline,
        max_payload_bytes: int,
        auth: Authenticator | None = None,
        cors_allow_origins: tuple[str, ...] = (),
        telemetry: Telemetry | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.pipeline = pipeline
        #: masks secrets in error messages and in the request log lines
        self.redactor = redactor if redactor is not None else Redactor()
        #: counts every export request; ``/metrics`` renders it (a disabled one by default)
        self.telemetry = telemetry if telemetry is not None else Telemetry()
        self.max_payload_bytes = max_payload_bytes
        self.auth = auth
        self.cors_allow_origins = frozenset(cors_allow_origins)
        #: the readiness check behind ``/ready`` (the server wraps it in a ``ReadinessProbe``)
        self.readiness: Callable[[], None] = pipeline.check_ready
        self._lock = threading.Condition()
        self._inflight = 0
        self._draining = False

    @classmethod
    def from_config(
        cls, config: Config, pipeline: Pipeline, telemetry: Telemetry | None = None
    ) -> OtlpHttp:
        """Build from ``request.*``, ``auth.*`` and ``server.cors_allow_origins``; raises
        ConfigError for auth enabled with an empty secret."""
        return cls(
            pipeline,
            max_payload_bytes=int(config.get("request.max_payload_bytes")),
            auth=Authenticator.from_config(config),
            cors_allow_origins=tuple(config.get("server.cors_allow_origins") or ()),
            telemetry=telemetry,
            redactor=Redactor.from_config(config, os.environ),
        )

    # -- entry point ------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: Mapping[str, str], body: Body) -> Response:
        """Answer one request; never raises."""
        started = time.monotonic()
        lowered = {k.lower(): v for k, v in headers.items()}
        path = path.rstrip("/") or "/"
        detail = ""
        error: Exception | None = None
        try:
            response = self._route(method.upper(), path, lowered, body)
        except Exception as exc:  # every error becomes a response, in error_response
            response = error_response(exc, lowered.get("content-type"), self.redactor)
            detail, error = self.redactor.redact(str(exc)), exc
        self._add_cors(lowered, response)
        self._log(method, path, response, started, detail)
        if path in SIGNAL_PATHS and method.upper() == "POST":
            elapsed = time.monotonic() - started
            self.telemetry.observe_request("http", SIGNAL_PATHS[path], elapsed, error)
        return response

    def error(self, exc: BaseException, headers: Mapping[str, str]) -> Response:
        """The response for an error an adapter met before ``handle`` (e.g. a body the server
        refused while receiving it)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        response = error_response(exc, lowered.get("content-type"), self.redactor)
        self._add_cors(lowered, response)
        return response

    def _route(self, method: str, path: str, headers: dict[str, str], body: Body) -> Response:
        signal = SIGNAL_PATHS.get(path)
        if signal is not None:
            if method == "POST":
                return self._ingest(signal, headers, body)
            if method == "OPTIONS":
                return self._options(headers)
            raise _method_not_allowed(method, path, "POST, OPTIONS")
        if path in (HEALTH_PATH, READY_PATH):
            if method != "GET":
                raise _method_not_allowed(method, path, "GET")
            if path == READY_PATH:
                self._check_ready(headers)
            return _json(200, {"status": "ok" if path == HEALTH_PATH else "ready"})
        raise HttpError(404, f"no such path {path!r}; OTLP/HTTP paths are {', '.join(PATHS)}")

    # -- ingest -----------------------------------------------------------------------------
    def _ingest(self, signal: str, headers: dict[str, str], body: Body) -> Response:
        if self.auth is not None and not self.auth.check(headers.get("authorization")):
            raise HttpError(
                401,
                "missing or wrong credentials for this endpoint",
                [("WWW-Authenticate", c) for c in self.auth.challenges],
            )
        content_type = headers.get("content-type")
        encoding = headers.get("content-encoding")
        self._check_headers(content_type, encoding, headers.get("content-length"))
        with self._request():
            data = body if isinstance(body, bytes) else body(self.max_payload_bytes)
            result = self.pipeline.ingest(signal, data, content_type, encoding)
        return export_response(signal, result, content_type)

    def _check_headers(
        self, content_type: str | None, encoding: str | None, length: str | None
    ) -> None:
        """What can be refused before reading the body: type, encoding, declared length."""
        if media_type(content_type) not in self.pipeline.decoders:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {content_type!r}; use one of "
                + ", ".join(self.pipeline.media_types)
            )
        check_encoding(encoding)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise HttpError(400, f"Content-Length {length!r} is not a number") from None
            check_size(declared, self.max_payload_bytes, "as declared by Content-Length")

    # -- readiness and draining --------------------------------------------------------------
    @contextmanager
    def _request(self) -> Iterator[None]:
        """Count a request in flight, or refuse it with 503 while draining."""
        with self._lock:
            if self._draining:
                raise Unavailable("the server is shutting down; retry", DRAIN_RETRY_AFTER)
            self._inflight += 1
        try:
            yield
        finally:
            with self._lock:
                self._inflight -= 1
                self._lock.notify_all()

    def begin_drain(self) -> None:
        """Refuse new ingest requests (503) and report not ready from now on."""
        with self._lock:
            self._draining = True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no ingest request is in flight; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._inflight == 0, timeout)

    def _check_ready(self, headers: dict[str, str]) -> None:
        """503 when not ready. The reason (which may name the endpoint, bucket or path) is
        logged, and shown only to callers authenticated by ``auth.*``; others get a status."""
        if self._draining:
            raise Unavailable("draining: the server is shutting down")
        try:
            self.readiness()
        except Otlp2ParquetError as exc:
            log.warning("not ready: %s", exc)
            retry_after = getattr(exc, "retry_after", None)
            if self.auth is not None and self.auth.check(headers.get("authorization")):
                raise Unavailable(f"not ready: {exc}", retry_after) from None
            raise Unavailable(NOT_READY, retry_after) from None

    # -- CORS -------------------------------------------------------------------------------
    def _allowed_origin(self, origin: str | None) -> str | None:
        if not origin or not self.cors_allow_origins:
            return None
        if "*" in self.cors_allow_origins:
            return "*"
        return origin if origin in self.cors_allow_origins else None

    def _options(self, headers: dict[str, str]) -> Response:
        """``OPTIONS``: a CORS preflight when it carries an Origin, else the allowed methods."""
        origin = headers.get("origin")
        if origin and "access-control-request-method" in headers:
            if self._allowed_origin(origin) is None:
                raise HttpError(
                    403, f"origin {origin!r} is not allowed (server.cors_allow_origins)"
                )
            requested = headers.get("access-control-request-headers")
            return Response(
                204,
                [
                    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                    ("Access-Control-Allow-Headers", requested or CORS_ALLOW_HEADERS),
                    ("Access-Control-Max-Age", CORS_MAX_AGE),
                ],
            )
        return Response(204, [("Allow", "POST, OPTIONS")])

    def _add_cors(self, headers: dict[str, str], response: Response) -> None:
        allowed = self._allowed_origin(headers.get("origin"))
        if allowed is not None:
            response.headers.append(("Access-Control-Allow-Origin", allowed))
            response.headers.append(("Access-Control-Expose-Headers", "Retry-After"))
            if allowed != "*":
                response.headers.append(("Vary", "Origin"))

    # -- logging ----------------------------------------------------------------------------
    def _log(self, method: str, path: str, response: Response, started: float, detail: str) -> None:
        status = response.status
        level = logging.DEBUG if status < 400 else logging.INFO if status < 500 else logging.WARNING
        if log.isEnabledFor(level):
            log.log(
                level,
                "%s %s -> %d%s",
                method,
                path,
                status,
                f": {detail}" if detail else "",
                extra={
                    "http_method": method,
                    "http_path": path,
                    "http_status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 2),
                },
            )


def _method_not_allowed(method: str, path: str, allow: str) -> HttpError:
    return HttpError(
        405, f"method {method} is not allowed on {path}; use {allow}", [("Allow", allow)]
    )


def _json(status: int, data: object) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(data).encode())
