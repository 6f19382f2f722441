"""Stand-ins for Cloudflare bindings, following the documented Workers APIs, for running the Worker
code under CPython. Only the bindings are stood in for; everything they are called by is real.

- R2 bucket binding: ``put``/``get``/``head``/``list``/``delete``; ``R2Object`` (key, size,
  etag, httpEtag, uploaded, ...), ``R2ObjectBody`` (``arrayBuffer()``, ``text()``), ``list``
  answering ``{objects, truncated, cursor, delimitedPrefixes}`` (options: prefix, cursor,
  limit).
- KV namespace binding: ``put``/``get``/``delete``; ``list({prefix, cursor, limit})`` answering
  ``{keys: [{name}], list_complete, cursor}``.
- Durable Object storage: ``get``/``put``/``delete``, ``getAlarm``/``setAlarm``/``deleteAlarm``
  (values are structured-cloned); namespaces ``idFromName``/``get`` and stubs with ``fetch``.
- A service binding exposing an RPC method.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any


class BindingFailure(RuntimeError):
    """What a stood-in binding raises when a test makes it fail."""


class R2Object:
    def __init__(self, key: str, data: bytes) -> None:
        self.key = key
        self.size = len(data)
        self.etag = hashlib.md5(data).hexdigest()
        self.httpEtag = f'"{self.etag}"'
        self.uploaded = datetime.now(UTC)
        self.version = self.etag
        self.httpMetadata: dict[str, str] = {}
        self.customMetadata: dict[str, str] = {}


class R2ObjectBody(R2Object):
    def __init__(self, key: str, data: bytes) -> None:
        super().__init__(key, data)
        self._data = data
        self.bodyUsed = False

    async def arrayBuffer(self) -> bytes:
        self.bodyUsed = True
        return self._data

    async def text(self) -> str:
        return (await self.arrayBuffer()).decode()


class R2Bucket:
    def __init__(self, page_size: int = 1000) -> None:
        self.objects: dict[str, bytes] = {}
        self.page_size = page_size
        self.failing: set[str] = set()  # operation names made to fail

    def _check(self, op: str) -> None:
        if op in self.failing:
            raise BindingFailure(f"R2 {op} failed (test)")

    async def put(self, key: str, value: bytes | str) -> R2Object:
        self._check("put")
        data = value.encode() if isinstance(value, str) else bytes(value)
        self.objects[key] = data
        return R2Object(key, data)

    async def get(self, key: str) -> R2ObjectBody | None:
        self._check("get")
        data = self.objects.get(key)
        return None if data is None else R2ObjectBody(key, data)

    async def head(self, key: str) -> R2Object | None:
        self._check("head")
        data = self.objects.get(key)
        return None if data is None else R2Object(key, data)

    async def list(self, options: dict[str, Any] | None = None) -> SimpleNamespace:
        self._check("list")
        options = options or {}
        keys = sorted(k for k in self.objects if k.startswith(options.get("prefix", "")))
        start = int(options.get("cursor") or 0)
        limit = min(int(options.get("limit") or self.page_size), self.page_size)
        page = keys[start : start + limit]
        truncated = start + limit < len(keys)
        return SimpleNamespace(
            objects=[R2Object(k, self.objects[k]) for k in page],
            truncated=truncated,
            cursor=str(start + limit) if truncated else None,
            delimitedPrefixes=[],
        )

    async def delete(self, keys: str | list[str]) -> None:
        self._check("delete")
        for key in [keys] if isinstance(keys, str) else keys:
            self.objects.pop(key, None)


class KVNamespace:
    def __init__(self, page_size: int = 1000) -> None:
        self.values: dict[str, str] = {}
        self.page_size = page_size

    async def put(self, key: str, value: str, options: Any = None) -> None:
        if not isinstance(value, str):
            raise TypeError("this stand-in stores text values, as the adapter writes them")
        self.values[key] = value

    async def get(self, key: str, options: Any = None) -> str | None:
        return self.values.get(key)

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)

    async def list(self, options: dict[str, Any] | None = None) -> SimpleNamespace:
        options = options or {}
        names = sorted(k for k in self.values if k.startswith(options.get("prefix", "")))
        start = int(options.get("cursor") or 0)
        page = names[start : start + self.page_size]
        complete = start + self.page_size >= len(names)
        return SimpleNamespace(
            keys=[SimpleNamespace(name=n) for n in page],
            list_complete=complete,
            cursor=None if complete else str(start + self.page_size),
        )


class DurableObjectStorage:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.alarm: int | None = None

    async def get(self, key: str) -> Any:
        return copy.deepcopy(self.data.get(key))

    async def put(self, key: str, value: Any) -> None:
        self.data[key] = copy.deepcopy(value)

    async def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None

    async def getAlarm(self) -> int | None:
        return self.alarm

    async def setAlarm(self, scheduled_ms: int) -> None:
        self.alarm = int(scheduled_ms)

    async def deleteAlarm(self) -> None:
        self.alarm = None


class DurableObjectNamespace:
    """``idFromName``/``get``; one object per id, built by ``factory(ctx, env)``."""

    def __init__(self, factory: Callable[[Any, Any], Any]) -> None:
        self.factory = factory
        self.env: Any = None
        self.objects: dict[str, Any] = {}
        self.states: dict[str, SimpleNamespace] = {}

    def idFromName(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(name=name, toString=lambda: name)

    def get(self, object_id: SimpleNamespace) -> SimpleNamespace:
        name = object_id.name
        if name not in self.objects:
            state = SimpleNamespace(id=object_id, storage=DurableObjectStorage())
            self.states[name] = state
            self.objects[name] = self.factory(state, self.env)
        return SimpleNamespace(fetch=self.objects[name].fetch, id=object_id)

    async def fire_alarm(self, name: str) -> None:
        """What the runtime does at the alarm's time: clear it, call ``alarm()``."""
        state = self.states[name]
        assert state.storage.alarm is not None, "no alarm is set"
        state.storage.alarm = None
        await self.objects[name].alarm()


class ServiceBinding:
    """A service binding whose RPC methods are given as coroutine functions."""

    def __init__(self, **methods: Callable[..., Awaitable[Any]]) -> None:
        for name, method in methods.items():
            setattr(self, name, method)


def now_ms() -> int:
    return time.time_ns() // 1_000_000
