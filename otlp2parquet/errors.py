"""The one error tree of otlp2parquet.

The core raises only these, and they know nothing of any transport: each transport maps them
to its own answer in one table (``otlp2parquet.http.errors`` for OTLP/HTTP, which Lambda and the
Worker use too; ``otlp2parquet.plugins.platform_grpc.errors`` for OTLP/gRPC). A lookup walks the
class's MRO, so a subclass answers like its base.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def lookup(table: Mapping[type[BaseException], T], exc: BaseException) -> T | None:
    """A transport's answer for ``exc``: the entry of the first class on its MRO that ``table``
    has (a subclass answers like its base), or None."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return None


class Otlp2ParquetError(Exception):
    """Base class: every error the core raises on purpose."""


class ConfigError(Otlp2ParquetError):
    """A configuration value is missing, malformed or not allowed; the message names the key,
    where its value came from and how to fix it."""


class PluginError(Otlp2ParquetError):
    """A plugin failed to load, registered a duplicate name, or an unknown component was asked
    for."""


class DecodeError(Otlp2ParquetError):
    """The request body is not a valid OTLP request; the message says what and where."""


class UnsupportedMediaType(Otlp2ParquetError):
    """The content type or content encoding is not one we accept."""


class PayloadTooLarge(Otlp2ParquetError):
    """The body is over the configured limit, before or after decompression."""


class Backpressure(Otlp2ParquetError):
    """Buffers are full: the client should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageError(Otlp2ParquetError):
    """The object store failed or is unreachable; data stays buffered for a retry."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SpoolFull(StorageError):
    """The durable spool holds ``durability.max_spool_bytes`` of data not yet written (storage
    is failing or behind): the request is refused, to be retried after ``retry_after``."""


class Unauthenticated(Otlp2ParquetError):
    """The request carries no credentials, or wrong ones."""


class Unavailable(Otlp2ParquetError):
    """The service takes no requests now (draining, or it could not start): the client should
    retry after ``retry_after`` seconds (None: the transport's default)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CatalogError(Otlp2ParquetError):
    """The catalog rejected or could not take a commit; files stay written and pending."""


class NotAvailable(Otlp2ParquetError):
    """A feature exists in the interface but its implementation is not installed or enabled."""


class MissingExtra(PluginError):
    """An optional package is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, what: str) -> None:
        super().__init__(
            f"{what} needs the '{package}' package, which is not installed; "
            f"install it with: pip install 'otlp2parquet[{extra}]'"
        )
        self.package = package
        self.extra = extra
