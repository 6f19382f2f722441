"""ClickHouse tables that read the lake in place: ``CREATE TABLE otel_logs (...) ENGINE =
File/S3/AzureBlobStorage(...)`` over each table's Parquet files, nothing copied.

Columns come from the schema files (names, order, ClickHouse types), flattened: ``Nested``
groups become their dotted ``Array`` columns, which is how ClickHouse matches the Parquet
columns by name. Where the files are comes from the storage settings and the engine the backend
registers (``query=LakeAccess(clickhouse=...)``): ``fs`` gives the File engine on the absolute
path (``clickhouse-local`` and chDB read any path; a server only paths under its
``user_files_path``); ``s3``, ``r2`` and ``gcs`` the S3 engine on the HTTPS URL; ``azure`` the
AzureBlobStorage engine. Credentials are written only when asked for
(``with_credentials``); otherwise ClickHouse uses its own configuration.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.query.access import LakeAccess, lake_access
from otlp2parquet.schema.export import _quote as quote_ident
from otlp2parquet.schema.export import clickhouse_database
from otlp2parquet.schema.tables import TableSchema

_INDENT = "    "
PARQUET = "'Parquet'"


def quote_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _prefix(options: Mapping[str, Any]) -> str:
    parts = [p for p in str(options.get("prefix") or "").split("/") if p]
    return "".join(f"{p}/" for p in parts)


def _require(options: Mapping[str, Any], key: str, section: str) -> str:
    value = options.get(key)
    if not value:
        raise ConfigError(f"{section}.{key} is not set; ClickHouse needs it to find the files")
    return str(value)


def engine(
    backend: str,
    options: Mapping[str, Any],
    schema: TableSchema,
    with_credentials: bool = False,
    access: LakeAccess | None = None,
    section: str | None = None,
) -> str:
    """The ENGINE clause reading ``schema``'s files from ``storage.<backend>`` ``options``, as
    the backend's registered ``query`` meta (``access``; default: the built-in's) says."""
    access = lake_access(backend) if access is None else access
    section = section or f"storage.{backend}"
    glob = f"{schema.path}/**/*.parquet"
    if access.clickhouse == "File":
        root = os.path.abspath(os.path.expanduser(str(options.get("path") or "./data")))
        return f"File(Parquet, {quote_string(f'{root}/{glob}')})"
    if access.clickhouse == "S3":
        bucket = _require(options, "bucket", section)
        url = f"{_endpoint(access, options, bucket, section)}{_prefix(options)}{glob}"
        args = [quote_string(url)]
        key, secret = options.get("access_key_id"), options.get("secret_access_key")
        if with_credentials and key and secret:
            args += [quote_string(str(key)), quote_string(str(secret))]
        return f"S3({', '.join([*args, PARQUET])})"
    if access.clickhouse == "AzureBlobStorage":
        container = _require(options, "container", section)
        blobs = f"{_prefix(options)}{glob}"
        if with_credentials and options.get("connection_string"):
            where = [quote_string(str(options["connection_string"]))]
        else:
            account = _require(options, "account_name", section)
            endpoint = str(options.get("endpoint") or "").rstrip("/")  # Azurite, sovereign clouds
            where = [quote_string(endpoint or f"https://{account}.blob.core.windows.net")]
        args = [*where, quote_string(container), quote_string(blobs)]
        if with_credentials and options.get("account_name") and options.get("account_key"):
            args += [quote_string(str(options["account_name"]))]
            args += [quote_string(str(options["account_key"]))]
        return f"AzureBlobStorage({', '.join([*args, PARQUET])})"
    raise ConfigError(
        f"storage.backend {backend!r}: ClickHouse cannot read it in place; use a storage backend "
        "that registers query=LakeAccess(clickhouse=...) (the built-ins fs, s3, r2, gcs, azure)"
    )


def _endpoint(access: LakeAccess, options: Mapping[str, Any], bucket: str, section: str) -> str:
    """The HTTPS base URL of the bucket, ending in ``/``."""
    endpoint = str(options.get("endpoint") or "").rstrip("/")
    if endpoint:
        return f"{endpoint}/{bucket}/"
    if access.bucket_url is None:
        raise ConfigError(f"{section}.endpoint is not set; ClickHouse needs it to find the files")
    return access.bucket_url(options, bucket, section)


def create_table(
    schema: TableSchema,
    engine_clause: str,
    database: str | None = None,
    name: str | None = None,
) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with every column of ``schema`` and ``engine_clause``."""
    table = quote_ident(name or schema.table)
    if database:
        clickhouse_database(database)  # validates the identifier
        table = f"{quote_ident(database)}.{table}"
    columns = ",\n".join(f"{_INDENT}{quote_ident(c.name)} {c.clickhouse}" for c in schema.columns)
    return f"CREATE TABLE IF NOT EXISTS {table}\n(\n{columns}\n)\nENGINE = {engine_clause};"


def statements(
    schemas: Iterable[TableSchema],
    backend: str,
    options: Mapping[str, Any],
    database: str | None = None,
    with_credentials: bool = False,
    access: LakeAccess | None = None,
    section: str | None = None,
) -> list[str]:
    """Every statement, in order: the database (if any), then one table per schema."""
    out = [clickhouse_database(database)] if database else []
    for schema in schemas:
        clause = engine(backend, options, schema, with_credentials, access, section)
        out.append(create_table(schema, clause, database))
    return out
