"""The catalog behind the Worker's cron trigger.

``catalog_mode = "iceberg"`` registers files through the Iceberg REST protocol with
``otlp2parquet.plugins.catalog_iceberg.lite.iceberg_rest`` (no pyiceberg or pyarrow, neither
of which Cloudflare's Python Workers can load): the catalog over ``fetch``, manifests written
through the R2 binding into the table's metadata directory, which must be in the Worker's bucket
(R2 Data Catalog's tables are).
Any other mode is the catalog component registered under that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import boundary

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.plugins.catalog_iceberg.lite.rest_catalog import RestSettings

ICEBERG = "iceberg"


def rest_settings(runtime: Runtime) -> RestSettings:
    """The ``[iceberg]`` options for the REST committer; ConfigError naming what is missing."""
    from otlp2parquet.plugins.catalog_iceberg.lite.rest_catalog import RestSettings

    return RestSettings.from_options(runtime.config.section(ICEBERG))


def iceberg_data_url(url: str) -> str:
    """Data file paths as Iceberg (and R2 Data Catalog) spell them: ``s3://bucket/key``."""
    scheme, sep, rest = url.partition("://")
    return f"s3://{rest}" if sep and scheme == "r2" else url


def make_catalog(runtime: Runtime, mode: str, storage: Any, schemas: Any) -> Any:
    """A catalog object with ``commit(files)`` and ``close()`` for ``mode``."""
    if mode == ICEBERG:
        from otlp2parquet.plugins.catalog_iceberg.lite.iceberg_rest import LiteIcebergCatalog
        from otlp2parquet.plugins.catalog_iceberg.lite.rest_catalog import RestCatalogClient

        from .storage import R2BindingStorage

        if not isinstance(storage, R2BindingStorage):
            from otlp2parquet.errors import ConfigError

            raise ConfigError(
                'catalog_mode = "iceberg" in a Worker needs storage.backend = "r2_binding": '
                "manifests are written through the R2 binding next to the table's metadata"
            )
        settings = rest_settings(runtime)
        client = RestCatalogClient(settings, boundary.http_send)
        return LiteIcebergCatalog(settings, client, storage, schemas, iceberg_data_url)
    component = runtime.registry.get("catalog", mode)
    options = runtime.config.section(component.section)
    return component.factory(options, storage, schemas)
