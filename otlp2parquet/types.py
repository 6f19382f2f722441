"""Plain data passed between pipeline stages, and the component protocols."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from otlp2parquet.schema.tables import TableSchema

SIGNALS = ("logs", "traces", "metrics")


@dataclass
class MappedBatch:
    """What a schema mapper makes of decoded requests."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        if reason not in self.reasons:
            self.reasons.append(reason)


@dataclass(frozen=True)
class Partition:
    """One file's worth of partition values: a table, a service and a time bucket."""

    table: str
    service: str
    bucket_start_us: int
    values: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.table, self.service, self.bucket_start_us)


@dataclass
class WrittenFile:
    """One Parquet file safely stored; handed to ``on_batch_written`` and the catalog."""

    key: str
    url: str
    table: str
    rows: int
    bytes: int
    partition: Partition
    min_ts_us: int
    max_ts_us: int
    catalog: str = "none"  # none | committed | pending | failed


@dataclass
class IngestResult:
    """What one request produced: rows accepted and records rejected, with reasons."""

    accepted: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)


class Decoder(Protocol):
    def decode(self, body: bytes, signal: str) -> list[Any]: ...


class SchemaMapper(Protocol):
    signal: str

    def map(self, requests: Sequence[Any]) -> MappedBatch: ...


class Partitioner(Protocol):
    def split(
        self, schema: TableSchema, table: pa.Table
    ) -> Iterable[tuple[Partition, pa.Table]]: ...

    def object_key(self, partition: Partition, first_ts_us: int, token: str) -> str: ...


class StorageBackend(Protocol):
    """Object storage under one root; keys are relative, '/'-separated."""

    def url(self, key: str) -> str: ...

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def check(self) -> None: ...


class Catalog(Protocol):
    def commit(self, files: Sequence[WrittenFile]) -> None: ...

    def close(self) -> None: ...


class Platform(Protocol):
    def run(self, runtime: Any) -> int: ...


JSONMapping = Mapping[str, Any]


class Durability(Protocol):
    """What keeps an accepted request safe until its files are stored: the server's spool, or
    ``NoDurability`` (``durability/none.py``) when there is none. The pipeline is handed one."""

    enabled: bool

    def append(
        self, signal: str, media_type: str, body: bytes, parts: int, retry_after: float = 5.0
    ) -> int: ...

    def token(self, partition: Partition, sources: Iterable[int]) -> str: ...

    def key_for(self, token: str) -> str | None: ...

    def intent(
        self, token: str, key: str, partition: Partition, sources: Iterable[int]
    ) -> None: ...

    def complete(self, keys: Iterable[str]) -> None: ...

    def stats(self) -> dict[str, int]: ...

    def close(self) -> None: ...
