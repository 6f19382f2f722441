"""The durability of a pipeline without a spool: nothing is kept, files get random names.

The pipeline always has a durability (``Pipeline.durability``); this null object is the one it
gets when the spool is off (Lambda, Cloudflare, ``convert``, the memory backend, batching off),
so the pipeline never asks whether a spool exists before using it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from otlp2parquet.types import Partition


class NoDurability:
    """A ``Durability`` that keeps nothing."""

    enabled = False

    def append(
        self, signal: str, media_type: str, body: bytes, parts: int, retry_after: float = 5.0
    ) -> int:
        raise RuntimeError("no spool: the pipeline buffers without one (durability is off)")

    @staticmethod
    def token(partition: Partition, sources: Iterable[int]) -> str:
        return uuid.uuid4().hex

    def key_for(self, token: str) -> str | None:
        return None

    def intent(self, token: str, key: str, partition: Partition, sources: Iterable[int]) -> None:
        return None

    def complete(self, keys: Iterable[str]) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        return None


NO_DURABILITY = NoDurability()
