"""A third-party logs mapper under the built-in's name, for the table-engine tests
(``plugins.modules = ["support.engine_plugins"]``, with ``map_logs`` disabled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otlp2parquet import hookimpl
from otlp2parquet.types import MappedBatch

REASON = "the third-party logs mapper ran"


class OwnLogsMapper:
    """Rejects every request, with a reason that says who did."""

    signal = "logs"

    def __init__(self, schemas: Any) -> None:
        self.schemas = schemas

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        batch = MappedBatch()
        batch.reject(len(requests), REASON)
        return batch


@hookimpl
def register_schema_mappers(register: Any) -> None:
    register(name="logs", factory=OwnLogsMapper, signal="logs", tables=["logs"])
