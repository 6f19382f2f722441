"""A catalog plugin for tests (``plugins.modules = ["support.recording_catalog"]``,
``catalog_mode = "recording"``): records each commit, or fails while ``FAIL`` is set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otlp2parquet import hookimpl
from otlp2parquet.errors import CatalogError
from otlp2parquet.types import WrittenFile

COMMITS: list[list[WrittenFile]] = []
FAIL: list[str] = []


class RecordingCatalog:
    def __init__(self, options: dict[str, Any], storage: Any, schemas: Any) -> None:
        self.storage = storage
        self.closed = False

    def commit(self, files: Sequence[WrittenFile]) -> None:
        if FAIL:
            raise CatalogError(FAIL[0])
        COMMITS.append(list(files))

    def close(self) -> None:
        self.closed = True


@hookimpl
def register_catalogs(register: Any) -> None:
    register(name="recording", factory=RecordingCatalog)
