"""The catalog behind the Worker's cron trigger.

``catalog_mode`` names a catalog component. One that registers a ``lite_factory`` (the
``iceberg`` catalog does: appends through the Iceberg REST protocol in pure Python, since
Cloudflare's Python Workers can load neither pyiceberg nor pyarrow) gets ``fetch`` for its HTTP
requests and writes its manifests through the R2 binding, into the table's metadata directory,
which must be in the Worker's bucket (R2 Data Catalog's tables are). Any other is built by its
own factory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import ConfigError

from . import boundary

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime

ICEBERG = "iceberg"


def iceberg_data_url(url: str) -> str:
    """Data file paths as Iceberg (and R2 Data Catalog) spell them: ``s3://bucket/key``."""
    scheme, sep, rest = url.partition("://")
    return f"s3://{rest}" if sep and scheme == "r2" else url


def make_catalog(runtime: Runtime, mode: str, storage: Any, schemas: Any) -> Any:
    """A catalog object with ``commit(files)`` and ``close()`` for ``mode``."""
    from .storage import R2BindingStorage

    component = runtime.registry.get("catalog", mode)
    options = runtime.config.section(component.section)
    lite = component.meta.get("lite_factory")
    if lite is None:
        return component.factory(options, storage, schemas)
    if not isinstance(storage, R2BindingStorage):
        raise ConfigError(
            f'catalog_mode = "{mode}" in a Worker needs storage.backend = "r2_binding": '
            "manifests are written through the R2 binding next to the table's metadata"
        )
    return lite(options, storage, schemas, boundary.http_send, iceberg_data_url)
