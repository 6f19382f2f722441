"""How OTLP/HTTP answers each error of the core's tree: one table, error class → HTTP status.

The server, Lambda and the Cloudflare Worker all answer through it (``responses.error_response``).
A lookup walks the error's MRO, so a third-party subclass of e.g. ``DecodeError`` answers 400
like its base; a class with no entry on its MRO answers 500 and is logged. ``HttpError`` is the
HTTP layer's own error (unknown path, wrong method, ...) and carries its status itself.
"""

from __future__ import annotations

import logging

from otlp2parquet.errors import (
    Backpressure,
    CatalogError,
    ConfigError,
    DecodeError,
    MissingExtra,
    NotAvailable,
    Otlp2ParquetError,
    PayloadTooLarge,
    PluginError,
    SpoolFull,
    StorageError,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    lookup,
)

log = logging.getLogger(__name__)

INTERNAL = 500
#: Error class → HTTP status. Every class of ``otlp2parquet.errors`` has an entry.
HTTP_STATUS: dict[type[BaseException], int] = {
    Otlp2ParquetError: INTERNAL,
    ConfigError: INTERNAL,
    PluginError: INTERNAL,
    MissingExtra: INTERNAL,
    DecodeError: 400,
    Unauthenticated: 401,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Backpressure: 429,
    NotAvailable: 501,
    StorageError: 503,
    SpoolFull: 503,
    CatalogError: 503,
    Unavailable: 503,
}
#: Statuses answered with a ``Retry-After`` header (the error's ``retry_after``, else a default).
RETRY_STATUSES = frozenset({429, 503})


class HttpError(Otlp2ParquetError):
    """An error of the HTTP layer itself (unknown path, wrong method, missing credentials); it
    carries its own ``status``, extra ``headers`` and, for 429/503, ``retry_after``."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: list[tuple[str, str]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or []
        self.retry_after = retry_after


def status_of(exc: BaseException) -> int:
    """The HTTP status that answers ``exc``; 500 (logged) for a class with no entry."""
    if isinstance(exc, HttpError):
        return exc.status
    status = lookup(HTTP_STATUS, exc)
    if status is None:
        log.error("no HTTP status for %s; answering 500", type(exc).__name__, exc_info=exc)
        return INTERNAL
    return status
