"""The ``iceberg`` catalog (``catalog_mode = "iceberg"``): every written Parquet file is
registered in an Iceberg v2 table, one per target table, after it is safely stored.

Modules: ``properties`` (config → pyiceberg properties), ``receipts`` (durable pending receipts,
reusable by other adapters), ``tables`` (create, evolve, idempotent append), ``catalog`` (the
component and its background task), ``sync`` (working through receipts), ``maintain``
(snapshot expiry, small-file compaction).
pyiceberg is imported only when a catalog is built, never at registration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl
from otlp2parquet.errors import MissingExtra

from .options import ICEBERG

if TYPE_CHECKING:
    from otlp2parquet.schema.tables import TableSchema
    from otlp2parquet.types import StorageBackend

    from .catalog import IcebergCatalog
    from .lite.iceberg_rest import LiteIcebergCatalog, ObjectIO


#: Packages each catalog type needs besides pyiceberg (checked without importing them).
NEEDS = {
    "sql": (("sqlalchemy", "iceberg"),),
    "glue": (("boto3", "iceberg"),),
    "s3tables": (("boto3", "iceberg"),),
}


def make_iceberg(
    options: dict[str, Any], storage: StorageBackend, schemas: Mapping[str, TableSchema]
) -> IcebergCatalog:
    """Validate the ``[iceberg]`` options; the catalog itself is reached on first use."""
    from importlib.util import find_spec

    from .catalog import IcebergCatalog
    from .properties import resolve

    settings = resolve(options, storage)
    needed = [("pyiceberg", "iceberg"), *NEEDS.get(settings.kind, ())]
    if settings.properties.get("uri", "").startswith("postgresql+psycopg2"):
        needed.append(("psycopg2", "iceberg"))
    for package, extra in needed:
        if find_spec(package) is None:
            raise MissingExtra(package, extra, f'catalog_mode = "iceberg" ({settings.kind})')
    return IcebergCatalog(settings, storage, schemas)


def make_lite_iceberg(
    options: dict[str, Any],
    storage: ObjectIO,
    schemas: Mapping[str, TableSchema],
    send: Callable[..., Any],
    data_url: Callable[[str], str],
) -> LiteIcebergCatalog:
    """The Worker's catalog: appends through the Iceberg REST protocol in pure Python
    (``lite/``), with ``send`` for the HTTP requests; ConfigError naming what ``[iceberg]``
    lacks."""
    from .lite.iceberg_rest import LiteIcebergCatalog
    from .lite.rest_catalog import RestCatalogClient, RestSettings

    settings = RestSettings.from_options(options)
    return LiteIcebergCatalog(
        settings, RestCatalogClient(settings, send), storage, schemas, data_url
    )


@hookimpl
def register_catalogs(register: Any) -> None:
    register(
        name="iceberg",
        factory=make_iceberg,
        options=ICEBERG,
        section="iceberg",
        lite_factory=make_lite_iceberg,
    )
