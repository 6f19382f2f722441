"""The one error tree of otlp2parquet.

The core raises only these. Each platform adapter maps them to its own responses in one place
(HTTP status, gRPC code, CLI exit status); see ``http_status`` for the OTLP/HTTP mapping.
"""

from __future__ import annotations


class Otlp2ParquetError(Exception):
    """Base class: every error the core raises on purpose."""

    #: HTTP status an adapter answers with.
    http_status: int = 500


class ConfigError(Otlp2ParquetError):
    """A configuration value is missing, malformed or not allowed; the message names the key,
    where its value came from and how to fix it."""


class PluginError(Otlp2ParquetError):
    """A plugin failed to load, registered a duplicate name, or an unknown component was asked
    for."""


class DecodeError(Otlp2ParquetError):
    """The request body is not a valid OTLP request; the message says what and where."""

    http_status = 400


class UnsupportedMediaType(Otlp2ParquetError):
    """The content type or content encoding is not one we accept."""

    http_status = 415


class PayloadTooLarge(Otlp2ParquetError):
    """The body is over the configured limit, before or after decompression."""

    http_status = 413


class Backpressure(Otlp2ParquetError):
    """Buffers are full: the client should retry after ``retry_after`` seconds."""

    http_status = 429

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageError(Otlp2ParquetError):
    """The object store failed or is unreachable; data stays buffered for a retry."""

    http_status = 503

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SpoolFull(StorageError):
    """The durable spool holds ``durability.max_spool_bytes`` of data not yet written (storage
    is failing or behind): the request is refused with 503 and ``retry_after``."""


class CatalogError(Otlp2ParquetError):
    """The catalog rejected or could not take a commit; files stay written and pending."""

    http_status = 503


class NotAvailable(Otlp2ParquetError):
    """A feature exists in the interface but its implementation is not installed or enabled."""

    http_status = 501


class MissingExtra(PluginError):
    """An optional package is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, what: str) -> None:
        super().__init__(
            f"{what} needs the '{package}' package, which is not installed; "
            f"install it with: pip install 'otlp2parquet[{extra}]'"
        )
        self.package = package
        self.extra = extra
