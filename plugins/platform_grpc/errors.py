"""How OTLP/gRPC answers each error of the core's tree: one table, error class → status code.

Codes follow the OTLP/gRPC specification, so that clients retry exactly when they should:
INVALID_ARGUMENT for data that will never be accepted (undecodable, oversized, of a media type we
do not take); RESOURCE_EXHAUSTED for backpressure and UNAVAILABLE for storage, catalog or a
draining server, both retryable because the receiver adds a RetryInfo; UNAUTHENTICATED for
credentials; UNIMPLEMENTED for a feature that is not installed; INTERNAL for the rest. A lookup
walks the error's MRO, so a subclass answers like its base; a class with no entry on its MRO
answers INTERNAL and is logged.
"""

from __future__ import annotations

import logging

import grpc

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

Code = grpc.StatusCode
#: Error class → gRPC status code. Every class of ``otlp2parquet.errors`` has an entry.
GRPC_CODES: dict[type[BaseException], grpc.StatusCode] = {
    Otlp2ParquetError: Code.INTERNAL,
    ConfigError: Code.INTERNAL,
    PluginError: Code.INTERNAL,
    MissingExtra: Code.INTERNAL,
    DecodeError: Code.INVALID_ARGUMENT,
    PayloadTooLarge: Code.INVALID_ARGUMENT,
    UnsupportedMediaType: Code.INVALID_ARGUMENT,
    Unauthenticated: Code.UNAUTHENTICATED,
    Backpressure: Code.RESOURCE_EXHAUSTED,
    NotAvailable: Code.UNIMPLEMENTED,
    StorageError: Code.UNAVAILABLE,
    SpoolFull: Code.UNAVAILABLE,
    CatalogError: Code.UNAVAILABLE,
    Unavailable: Code.UNAVAILABLE,
}
#: Codes answered with a RetryInfo (the error's ``retry_after``, else a default).
RETRY_CODES = frozenset({Code.RESOURCE_EXHAUSTED, Code.UNAVAILABLE})


def code_of(exc: BaseException) -> grpc.StatusCode:
    """The status code that answers ``exc``; INTERNAL (logged) for a class with no entry."""
    code = lookup(GRPC_CODES, exc)
    if code is not None:
        return code
    log.error("no gRPC status code for %s; answering INTERNAL", type(exc).__name__, exc_info=exc)
    return Code.INTERNAL
