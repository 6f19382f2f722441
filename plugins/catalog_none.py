"""The ``none`` catalog (``catalog_mode = "none"``): files are only written to storage.

Readers find them by listing the layout (``read_parquet('…/**/*.parquet',
hive_partitioning=true)`` in DuckDB, ``s3()`` globs in ClickHouse); nothing is registered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from otlp2parquet import hookimpl
from otlp2parquet.types import StorageBackend, WrittenFile

log = logging.getLogger(__name__)


class NoCatalog:
    """Accepts every commit and registers nothing."""

    def commit(self, files: Sequence[WrittenFile]) -> None:
        log.debug("catalog none: %d file(s) written, nothing to register", len(files))

    def close(self) -> None:
        """Nothing to release."""


def make_no_catalog(
    options: Mapping[str, Any], storage: StorageBackend, schemas: Mapping[str, Any]
) -> NoCatalog:
    return NoCatalog()


@hookimpl
def register_catalogs(register: Any) -> None:
    register(name="none", factory=make_no_catalog)
