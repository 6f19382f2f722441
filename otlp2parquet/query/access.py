"""How query engines reach a storage backend's files in place: the ``query`` meta a storage
backend registers (``register(..., query=LakeAccess(...))``). Imports nothing heavy: storage
plugins build it at registration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: ``(options, bucket, section) -> "https://host/bucket/"``: a bucket's HTTPS base URL.
BucketUrl = Callable[[Mapping[str, Any], str, str], str]
#: ``options -> "https://host"`` or None: the S3 endpoint when ``endpoint`` is not set.
Endpoint = Callable[[Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class LakeAccess:
    """What DuckDB and ClickHouse need to read a backend's files where they lie.

    ``clickhouse`` is the ClickHouse engine: ``"File"`` (the local ``path``), ``"S3"`` (any
    S3-compatible HTTPS API; ``bucket_url`` gives the bucket's URL when ``endpoint`` is unset)
    or ``"AzureBlobStorage"``; None when ClickHouse cannot read it. ``s3_secret``: DuckDB's
    httpfs reads it with an S3 secret, with ``s3_region`` forcing the region (R2: ``auto``) and
    ``s3_endpoint`` giving the endpoint when ``endpoint`` is unset.
    """

    clickhouse: str | None = None
    bucket_url: BucketUrl | None = None
    s3_secret: bool = False
    s3_region: str | None = None
    s3_endpoint: Endpoint | None = None


def lake_access(backend: str) -> LakeAccess:
    """A built-in storage backend's ``query`` meta, by name (or alias)."""
    from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry

    component = collect_registry(build_plugin_manager(autoload=False)).get(
        "storage_backend", backend
    )
    return component.meta.get("query") or LakeAccess()
