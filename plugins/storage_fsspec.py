"""Storage backends over fsspec: ``fs`` (aliases ``file``, ``filesystem``), ``memory``, ``s3``
(alias ``aws``), ``r2``, ``gcs`` and ``azure``.

Every backend is one ``FsspecStorage``: an fsspec filesystem plus a root (``/abs/dir``,
``bucket/prefix``, ...). Both are public attributes (``fs``, ``root``) so the Iceberg catalog and
query helpers reach the same files. Writes are atomic: local files are written under a hidden
temporary name, fsynced and renamed; object stores receive one PUT, or a multipart upload that
is completed only at the end (s3fs ``pipe_file``), so readers never see part of a file.
s3fs, gcsfs and adlfs are imported inside the factories; only the chosen backend pays for it.
``gcs`` and ``azure`` take an ``endpoint`` for emulators (gcp-storage-emulator, Azurite) and
other compatible servers; ``gcs`` also honours ``STORAGE_EMULATOR_HOST`` as Google's libraries do.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from fsspec import AbstractFileSystem

from otlp2parquet import hookimpl
from otlp2parquet.errors import ConfigError, MissingExtra, StorageError
from otlp2parquet.plugin import urls

from . import storage_options as options
from .storage_local import is_stale, is_temp, write_local
from .storage_query import QUERY

_UNSAFE_KEY = re.compile(r"[\x00-\x1f\x7f\\]")


def check_key(key: str) -> str:
    """Refuse keys that could leave the root: absolute, ``..``/``.``/empty segments, ``\\``,
    control characters."""
    parts = key.split("/")
    if not key or _UNSAFE_KEY.search(key) or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"refusing storage key {key!r}: it must stay under the storage root")
    return key


class FsspecStorage:
    """A ``StorageBackend`` over an fsspec filesystem, rooted at ``root``."""

    def __init__(
        self,
        fs: AbstractFileSystem,
        root: str,
        name: str,
        where: str,
        local: bool = False,
        probe: str | None = None,
        store: str | None = None,
    ) -> None:
        self.fs = fs
        self.root = fs._strip_protocol(root).rstrip("/")
        self.name = name
        self.where = where
        self.local = local
        self._probe = probe
        self._store = store  # "bucket 'x'" / "container 'x'": named when a write finds nothing

    def __repr__(self) -> str:
        return f"<FsspecStorage {self.name} {self.url('')}>"

    def path(self, key: str) -> str:
        """The fsspec path of ``key``."""
        return f"{self.root}/{check_key(key)}"

    def url(self, key: str) -> str:
        """The URL of ``key`` (of the root for ``""``), e.g. ``s3://bucket/prefix/key``."""
        return self.fs.unstrip_protocol(self.path(key) if key else self.root)

    @contextlib.contextmanager
    def _failures(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:  # any backend failure becomes StorageError, with its cause
            missing = isinstance(exc, FileNotFoundError) or getattr(exc, "status_code", 0) == 404
            if missing and action in ("read", "delete"):
                raise StorageError(
                    f"{self.name} storage: {self.url(key)} not found ({_first_line(exc)})"
                ) from exc
            what = f"{self._store} not found" if missing and self._store else type(exc).__name__
            raise StorageError(
                f"{self.name} storage ({self.where}) cannot {action} {self.url(key)}: "
                f"{what}: {_first_line(exc)}"
            ) from exc

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        with self._failures("write", key):
            if self.local:
                write_local(path, data)
            else:
                self.fs.pipe_file(path, data)

    def get(self, key: str) -> bytes:
        with self._failures("read", key):
            return bytes(self.fs.cat_file(self.path(key)))

    def list(self, prefix: str = "") -> list[str]:
        """Keys under the root that start with ``prefix``, sorted."""
        directory = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.path(directory) if directory else self.root
        with self._failures("list", directory):
            self.fs.invalidate_cache(start)
            found = self.fs.find(start)
        cut = len(self.root) + 1
        keys = (p[cut:] for p in found if p.startswith(self.root + "/"))
        return sorted(k for k in keys if k.startswith(prefix) and not is_temp(k.rsplit("/", 1)[-1]))

    def delete(self, key: str) -> None:
        with self._failures("delete", key):
            self.fs.rm_file(self.path(key))

    def remove_stale_temps(self, prefixes: Iterable[str]) -> builtins.list[str]:
        """Remove the hidden temp files that writes killed mid-way left under ``prefixes``
        (the table directories) of a local root: those written by a process of this host that
        no longer runs, and any older than ``STALE_TEMP_SECS``. Returns their paths; a no-op
        for object stores, whose puts are atomic."""
        if not self.local:
            return []
        removed = []
        now = time.time()
        for prefix in prefixes:
            top = os.path.join(self.root, check_key(prefix))
            for directory, _, files in os.walk(top):
                for name in files:
                    path = os.path.join(directory, name)
                    if is_temp(name) and is_stale(path, name, now):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(path)
                            removed.append(path)
        return removed

    def check(self) -> None:
        """Raise StorageError unless the root is reachable (and writable, on local disk)."""
        with self._failures("reach", ""):
            if self.local:
                os.makedirs(self.root, exist_ok=True)
                if not os.access(self.root, os.W_OK | os.X_OK):
                    raise PermissionError(f"directory {self.root} is not writable")
            elif self._probe is not None:
                self.fs.ls(self._probe, refresh=True)


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message: Azure's carry the whole XML reply below it."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)


# -- factories ------------------------------------------------------------------------------


def import_extra(module: str, extra: str, backend: str) -> ModuleType:
    """Import an optional package, or raise MissingExtra naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module, extra, f"the {backend!r} storage backend") from None


def require(options: dict[str, Any], key: str, section: str) -> str:
    value = options.get(key)
    if not value:
        variable = "OTLP2PARQUET_" + f"{section}.{key}".upper().replace(".", "_")
        raise ConfigError(
            f"{section}.{key} is not set; set it under [{section}] in config.toml or with "
            f"{variable}"
        )
    return str(value)


def object_root(container: str, prefix: str | None, section: str) -> str:
    """``bucket/prefix`` with the prefix's slashes normalised; refuses ``..`` and ``\\``."""
    if "/" in container or not container.strip():
        raise ConfigError(f"{section}: {container!r} is not a bucket/container name")
    parts = [p for p in (prefix or "").split("/") if p]
    if any(p in (".", "..") or "\\" in p or _UNSAFE_KEY.search(p) for p in parts):
        raise ConfigError(f"{section}.prefix {prefix!r} must not contain '.', '..' or '\\'")
    return "/".join([container, *parts])


def make_fs(options: dict[str, Any]) -> FsspecStorage:
    from fsspec.implementations.local import LocalFileSystem

    root = os.path.abspath(os.path.expanduser(options.get("path") or "./data"))
    return FsspecStorage(LocalFileSystem(), root, "fs", f"directory {root}", local=True)


def make_memory(options: dict[str, Any]) -> FsspecStorage:
    from fsspec.implementations.memory import MemoryFileSystem

    root = "/" + (options.get("path") or "/otlp2parquet").strip("/")
    return FsspecStorage(MemoryFileSystem(), root, "memory", f"memory {root}")


def _s3_storage(name: str, section: str, options: dict[str, Any]) -> FsspecStorage:
    s3fs = import_extra("s3fs", "s3", name)
    bucket = require(options, "bucket", section)
    endpoint, region = options.get("endpoint"), options.get("region")
    config: dict[str, Any] = {}
    if endpoint:
        # Non-AWS S3 APIs (R2, MinIO, moto) reject the checksums recent botocore sends by
        # default, and may not resolve virtual-host bucket names.
        config = {
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            "s3": {"addressing_style": "path"},
        }
    kwargs: dict[str, Any] = {
        "key": options.get("access_key_id") or None,
        "secret": options.get("secret_access_key") or None,
        "token": options.get("session_token") or None,
        "endpoint_url": endpoint or None,
        "client_kwargs": {"region_name": region} if region else {},
        "config_kwargs": config,
        "skip_instance_cache": True,
    }
    if options.get("profile"):
        kwargs["profile"] = options["profile"]
    fs = s3fs.S3FileSystem(**kwargs)
    where = f"bucket {bucket!r} " + (
        f"at endpoint {endpoint}" if endpoint else f"in region {region or 'from the AWS chain'}"
    )
    root = object_root(bucket, options.get("prefix"), section)
    return FsspecStorage(fs, root, name, where, probe=bucket, store=f"bucket {bucket!r}")


def make_s3(options: dict[str, Any]) -> FsspecStorage:
    """S3 or any S3 API; credentials from the options or the usual AWS chain."""
    return _s3_storage("s3", "storage.s3", options)


def make_r2(options: dict[str, Any]) -> FsspecStorage:
    """Cloudflare R2: the S3 API at ``https://{account_id}.r2.cloudflarestorage.com``."""
    endpoint = options.get("endpoint")
    if not endpoint:
        account = require(options, "account_id", "storage.r2")
        if not re.fullmatch(r"[A-Za-z0-9-]+", account):
            raise ConfigError(f"storage.r2.account_id {account!r} is not a Cloudflare account id")
        endpoint = f"https://{account}.r2.cloudflarestorage.com"
    return _s3_storage("r2", "storage.r2", {**options, "endpoint": endpoint, "region": "auto"})


def endpoint_url(value: str, section: str, path: bool) -> str:
    """``value`` without a trailing ``/`` when it is an http(s) URL, with a path only if
    ``path``; a query or fragment is refused without echoing it (it may hold a SAS token)."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{section}.endpoint must not carry a query string; put a SAS token in sas_token"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc or (parts.path and not path):
        form = "http(s)://host:port" + ("[/path]" if path else "")
        raise ConfigError(f"{section}.endpoint {value!r} is not a URL of the form {form}")
    return url


def make_gcs(options: dict[str, Any]) -> FsspecStorage:
    """Google Cloud Storage; ``endpoint``, else ``STORAGE_EMULATOR_HOST``, for an emulator or
    another server (anonymous with the variable and no ``token``, as Google's libraries do)."""
    gcsfs = import_extra("gcsfs", "gcs", "gcs")
    bucket = require(options, "bucket", "storage.gcs")
    kwargs = {k: options[k] for k in ("project", "token") if options.get(k)}
    endpoint, source = options.get("endpoint"), ""
    emulator = os.environ.get("STORAGE_EMULATOR_HOST", "")
    if not endpoint and emulator not in ("", "default"):
        endpoint = emulator if "://" in emulator else f"http://{emulator}"
        source = " (STORAGE_EMULATOR_HOST)"
        kwargs.setdefault("token", "anon")
    filesystem = gcsfs.GCSFileSystem
    where = f"bucket {bucket!r}"
    if endpoint:
        kwargs["endpoint_url"] = endpoint_url(str(endpoint), "storage.gcs", path=False)
        where += f" at endpoint {kwargs['endpoint_url']}{source}"
        # gcsfs's default class asks Google's Storage Control gRPC API for each bucket's layout
        # first; emulators do not serve it (a 60 s timeout each time). The JSON-API class does
        # everything this backend needs.
        filesystem = importlib.import_module("gcsfs.core").GCSFileSystem
    fs = filesystem(skip_instance_cache=True, **kwargs)
    root = object_root(bucket, options.get("prefix"), "storage.gcs")
    return FsspecStorage(fs, root, "gcs", where, probe=bucket, store=f"bucket {bucket!r}")


def _connection_fields(connection_string: str) -> dict[str, str]:
    """The ``Key=Value`` fields of an Azure connection string, keys lowercased."""
    pairs = (p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    return {k.strip().lower(): v.strip() for k, v in pairs}


def make_azure(options: dict[str, Any]) -> FsspecStorage:
    """Azure Blob Storage from a connection string, or an account name with its key or a SAS
    token (or the Azure identity chain) at ``endpoint`` (default the account's own URL)."""
    adlfs = import_extra("adlfs", "azure", "azure")
    container = require(options, "container", "storage.azure")
    connection_string, account = options.get("connection_string"), options.get("account_name")
    endpoint = options.get("endpoint")
    if endpoint:
        endpoint = endpoint_url(str(endpoint), "storage.azure", path=True)
    key, sas = options.get("account_key"), options.get("sas_token")
    kwargs: dict[str, Any]
    if connection_string:
        fields = _connection_fields(str(connection_string))
        account = fields.get("accountname") or account or "(connection string)"
        # The string wins over the other options; a SAS in its URL stays out of messages.
        endpoint = fields.get("blobendpoint", "").split("?")[0]
        kwargs = {"connection_string": connection_string}
    elif account and endpoint and (key or sas):
        # adlfs builds https://{account_host} itself; a connection string also takes the
        # path-style URLs of Azurite (http://127.0.0.1:10000/devstoreaccount1).
        secret = f"AccountKey={key}" if key else f"SharedAccessSignature={str(sas).lstrip('?')}"
        kwargs = {"connection_string": f"BlobEndpoint={endpoint};AccountName={account};{secret}"}
    elif account:
        kwargs = {
            k: options[k] for k in ("account_name", "account_key", "sas_token") if options.get(k)
        }
        if endpoint:
            parts = urlsplit(endpoint)
            if parts.scheme != "https" or parts.path:
                raise ConfigError(
                    f"storage.azure.endpoint {endpoint!r} needs account_key, sas_token or "
                    "connection_string; without them only https://host endpoints are supported"
                )
            kwargs["account_host"] = parts.netloc
    else:
        raise ConfigError(
            "storage.azure needs account_name (with account_key or sas_token) or "
            "connection_string; set them under [storage.azure] in config.toml"
        )
    fs = adlfs.AzureBlobFileSystem(skip_instance_cache=True, **kwargs)
    root = object_root(container, options.get("prefix"), "storage.azure")
    where = f"container {container!r} of account {account}"
    if endpoint:
        where += f" at endpoint {endpoint}"
    store = f"container {container!r}"
    return FsspecStorage(fs, root, "azure", where, probe=container, store=store)


@hookimpl
def register_storage_backends(register: Any) -> None:
    bucket, container = urls.bucket_and_prefix(), urls.bucket_and_prefix("container")
    register(
        name="fs", factory=make_fs, options=options.FS, aliases=("file", "filesystem"),
        url_schemes=("file",), from_url=urls.path(), query=QUERY["fs"],
    )  # fmt: skip
    register(
        name="memory", factory=make_memory, options=options.MEMORY, url_schemes=("memory",),
        from_url=urls.path("/"),
    )  # fmt: skip
    register(
        name="s3", factory=make_s3, options=options.S3, aliases=("aws",),
        url_schemes=("s3", "s3a"), from_url=bucket, query=QUERY["s3"],
    )  # fmt: skip
    register(
        name="r2", factory=make_r2, options=options.R2, url_schemes=("r2",), from_url=bucket,
        query=QUERY["r2"],
    )  # fmt: skip
    register(
        name="gcs", factory=make_gcs, options=options.GCS, url_schemes=("gs", "gcs"),
        from_url=bucket, query=QUERY["gcs"],
    )  # fmt: skip
    register(
        name="azure", factory=make_azure, options=options.AZURE,
        url_schemes=("az", "abfs", "azure"), from_url=container, query=QUERY["azure"],
    )  # fmt: skip
