"""Storage through Worker bindings: the ``r2_binding`` backend (an R2 bucket binding) and the
Workers KV store of pending receipts.

Both are synchronous over the bindings' promise APIs (``boundary.wait``), as the core's
``StorageBackend`` is: ``put`` returns once R2 has the object. R2 writes are atomic per object.
Binding objects come from the Worker's ``env``, which the adapter hands over with ``use_env``
before the pipeline is built (factories only receive their options).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from otlp2parquet.errors import ConfigError, StorageError

from . import boundary

_ENV: list[Any] = [None]
_UNSAFE_KEY = re.compile(r"[\x00-\x1f\x7f\\]")
DEFAULT_BINDING = "OTLP_BUCKET"


def use_env(env: Any) -> None:
    """Make the Worker's ``env`` (its bindings) available to the factories."""
    _ENV[0] = env


def env_binding(name: str, what: str) -> Any:
    env = _ENV[0]
    found = boundary.binding(env, name) if env is not None else None
    if found is None:
        where = "this Worker has no binding" if env is not None else "not running in a Worker:"
        raise ConfigError(
            f"{what} needs the Cloudflare binding {name!r}, but {where} {name!r}; "
            "declare it in wrangler.toml (otlp2parquet deploy cloudflare writes one)"
        )
    return found


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or _UNSAFE_KEY.search(key) or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"refusing storage key {key!r}: it must stay under the storage root")
    return key


class R2BindingStorage:
    """A ``StorageBackend`` over an R2 bucket binding (``put``/``get``/``list``/``delete``)."""

    def __init__(self, bucket: Any, bucket_name: str, prefix: str, binding: str) -> None:
        self.bucket = bucket
        self.bucket_name = bucket_name or binding.lower()
        self.prefix = "/".join(p for p in prefix.split("/") if p)
        self.prefix += "/" if self.prefix else ""
        self.binding = binding

    def __repr__(self) -> str:
        return f"<R2BindingStorage {self.binding} {self.url('')}>"

    def full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def url(self, key: str) -> str:
        return f"r2://{self.bucket_name}/{self.full(key) if key else self.prefix}"

    @contextlib.contextmanager
    def _failures(self, action: str, shown: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:  # any binding failure becomes StorageError, with its cause
            raise StorageError(
                f"R2 binding {self.binding} cannot {action} {shown}: {type(exc).__name__}: {exc}"
            ) from exc

    def _write(self, bucket_key: str, data: bytes, shown: str) -> None:
        with self._failures("write", shown):
            boundary.wait(self.bucket.put(bucket_key, boundary.to_js_bytes(data)))

    def _read(self, bucket_key: str, shown: str) -> bytes:
        with self._failures("read", shown):
            body = boundary.wait(self.bucket.get(bucket_key))
            if body is None:
                raise StorageError(f"R2 binding {self.binding}: {shown} not found")
            return boundary.to_py_bytes(boundary.wait(body.arrayBuffer()))

    def put(self, key: str, data: bytes) -> None:
        self._write(self.full(key), data, self.url(key))

    def get(self, key: str) -> bytes:
        return self._read(self.full(key), self.url(key))

    def list(self, prefix: str = "") -> list[str]:
        """Keys under the prefix that start with ``prefix``, sorted (every page)."""
        keys: list[str] = []
        cursor = None
        with self._failures("list", f"r2://{self.bucket_name}/{self.prefix}{prefix}"):
            while True:
                options: dict[str, Any] = {"prefix": self.prefix + prefix}
                if cursor:
                    options["cursor"] = cursor
                page = boundary.wait(self.bucket.list(boundary.to_js_object(options)))
                keys.extend(str(o.key)[len(self.prefix) :] for o in page.objects)
                cursor = getattr(page, "cursor", None) if page.truncated else None
                if not cursor:
                    return sorted(keys)

    def delete(self, key: str) -> None:
        full = self.full(key)
        with self._failures("delete", self.url(key)):
            boundary.wait(self.bucket.delete(full))

    def bucket_key(self, url: str) -> str:
        """The bucket key of ``s3://BUCKET/KEY`` or ``r2://BUCKET/KEY`` (Iceberg metadata
        locations); StorageError when the URL is in another bucket."""
        scheme, _, rest = url.partition("://")
        bucket, _, key = rest.partition("/")
        if scheme not in ("s3", "s3a", "r2") or bucket != self.bucket_name or not key:
            raise StorageError(
                f"{url} is not in the R2 bucket {self.bucket_name!r} of binding {self.binding}; "
                "the Iceberg table must live in the bucket the Worker writes to"
            )
        try:
            return check_key(key)
        except ValueError as exc:
            raise StorageError(f"{url}: {exc}") from None

    def put_object(self, url: str, data: bytes) -> None:
        """Write by URL, outside the key prefix (the table's metadata directory)."""
        self._write(self.bucket_key(url), data, url)

    def get_object(self, url: str) -> bytes:
        return self._read(self.bucket_key(url), url)

    def check(self) -> None:
        with self._failures("reach", self.url("")):
            boundary.wait(self.bucket.list(boundary.to_js_object({"limit": 1})))


def make_r2_binding(options: dict[str, Any]) -> R2BindingStorage:
    name = str(options.get("binding") or DEFAULT_BINDING)
    bucket = env_binding(name, "storage.backend = 'r2_binding'")
    return R2BindingStorage(
        bucket, str(options.get("bucket") or ""), options.get("prefix", ""), name
    )


class KvReceiptStore:
    """Pending receipts in Workers KV (``otlp2parquet.durability.receipts.ReceiptStore``)."""

    def __init__(self, namespace: Any) -> None:
        self.kv = namespace

    def put(self, key: str, data: bytes) -> None:
        boundary.wait(self.kv.put(key, data.decode("utf-8")))

    def get(self, key: str) -> bytes:
        value = boundary.wait(self.kv.get(key))
        if value is None:
            raise KeyError(key)
        return str(value).encode("utf-8")

    def list(self, prefix: str = "") -> list[str]:
        names: list[str] = []
        cursor = None
        while True:
            options: dict[str, Any] = {"prefix": prefix}
            if cursor:
                options["cursor"] = cursor
            page = boundary.wait(self.kv.list(boundary.to_js_object(options)))
            names.extend(str(k.name) for k in page.keys)
            cursor = None if page.list_complete else getattr(page, "cursor", None)
            if not cursor:
                return sorted(names)

    def delete(self, key: str) -> None:
        boundary.wait(self.kv.delete(key))
