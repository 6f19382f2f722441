"""DuckDB over the lake: one view per table (``otel_logs``, ``otel_traces``,
``otel_metrics_<type>``) reading every Parquet file of that table where it is stored.

How DuckDB reaches the files: local paths directly; object stores through DuckDB's ``httpfs``
extension with an S3 secret built from the storage options when the backend registers
``query=LakeAccess(s3_secret=True)`` (``s3``, ``r2``), that extension is already installed and keys
are configured, and otherwise through the storage backend's own
fsspec filesystem (``register_filesystem``), which needs no extension, so no download: the
Python wheel does not bundle httpfs and extension autoloading is switched off here, because
it would try the network. Views never fail for a table with no files yet: they read as empty
with the declared column types. ``hive_partitioning`` is off so every view has exactly the
schema's columns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyarrow as pa

from otlp2parquet.errors import MissingExtra
from otlp2parquet.query.access import LakeAccess, lake_access

if TYPE_CHECKING:
    import duckdb

    from otlp2parquet.schema.tables import TableSchema

log = logging.getLogger(__name__)

_SCALARS = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
}


def duckdb_type(dtype: pa.DataType) -> str:
    """The DuckDB type DuckDB itself gives a Parquet column of this Arrow type."""
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMP WITH TIME ZONE" if dtype.tz else "TIMESTAMP"
    if pa.types.is_map(dtype):
        return f"MAP({duckdb_type(dtype.key_type)}, {duckdb_type(dtype.item_type)})"
    if pa.types.is_list(dtype):
        return f"{duckdb_type(dtype.value_type)}[]"
    if dtype in _SCALARS:
        return _SCALARS[dtype]
    raise ValueError(f"no DuckDB type for Arrow type {dtype}")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def empty_select(schema: TableSchema) -> str:
    """A typed, empty SELECT with the table's columns (for a table with no files yet)."""
    columns = ", ".join(
        f"CAST(NULL AS {duckdb_type(f.type)}) AS {quote_ident(f.name)}" for f in schema.arrow_schema
    )
    return f"SELECT {columns} WHERE false"


def parquet_select(pattern: str) -> str:
    return (
        f"SELECT * FROM read_parquet({quote_string(pattern)}, "
        "hive_partitioning = false, union_by_name = true)"
    )


def table_pattern(storage: Any, schema: TableSchema) -> str:
    """The glob of a table's files: a local path, or a URL (``s3://bucket/prefix/...``)."""
    if getattr(storage, "local", False):
        return f"{storage.root}/{schema.path}/**/*.parquet"
    return f"{storage.url(schema.path)}/**/*.parquet"


def s3_secret_sql(options: Mapping[str, Any], backend: str | LakeAccess) -> str | None:
    """``CREATE SECRET`` for httpfs from a storage backend's options and ``query`` meta (a
    ``LakeAccess``, or a built-in backend's name); None without keys (the fsspec route then
    uses the usual AWS credential chain)."""
    access = lake_access(backend) if isinstance(backend, str) else backend
    key, secret = options.get("access_key_id"), options.get("secret_access_key")
    if not key or not secret:
        return None
    parts = {"TYPE": "s3", "KEY_ID": quote_string(key), "SECRET": quote_string(secret)}
    if options.get("session_token"):
        parts["SESSION_TOKEN"] = quote_string(options["session_token"])
    endpoint = options.get("endpoint") or (
        access.s3_endpoint(options) if access.s3_endpoint else None
    )
    region = access.s3_region or options.get("region")
    if region:
        parts["REGION"] = quote_string(region)
    if endpoint:
        split = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        parts["ENDPOINT"] = quote_string(split.netloc)
        parts["URL_STYLE"] = "'path'"
        parts["USE_SSL"] = "true" if split.scheme == "https" else "false"
    body = ", ".join(f"{k} {v}" for k, v in parts.items())
    return f"CREATE OR REPLACE SECRET otlp2parquet ({body})"


def _try_httpfs(con: duckdb.DuckDBPyConnection, secret: str | None) -> bool:
    """Load an already-installed httpfs and create the secret; False when unavailable."""
    import duckdb

    if secret is None:
        return False
    try:
        con.execute("LOAD httpfs")
    except duckdb.Error as exc:
        log.debug("DuckDB httpfs is not available (%s); reading through fsspec", exc)
        return False
    con.execute(secret)
    return True


def connect(
    storage: Any,
    schemas: Iterable[TableSchema],
    options: Mapping[str, Any] | None = None,
    database: str = ":memory:",
    access: LakeAccess | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per schema over ``storage`` (a fsspec-backed
    ``StorageBackend`` with ``fs``, ``root`` and ``url``); ``access`` is the backend's
    ``query`` meta (default: none, so object stores go through fsspec)."""
    try:
        import duckdb
    except ImportError:
        raise MissingExtra("duckdb", "duckdb", "otlp2parquet query duckdb") from None
    con = duckdb.connect(
        database,
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
    except duckdb.Error as exc:  # a build without ICU: timestamps then show as stored
        log.debug("cannot set the DuckDB time zone: %s", exc)
    native = bool(getattr(storage, "local", False))
    access = access or LakeAccess()
    if not native and access.s3_secret:
        native = _try_httpfs(con, s3_secret_sql(options or {}, access))
    if not native:
        con.register_filesystem(storage.fs)
    route = (
        "local files"
        if getattr(storage, "local", False)
        else ("httpfs" if native else f"fsspec ({type(storage.fs).__name__})")
    )
    log.debug("DuckDB reads %s through %s", storage.url(""), route)
    for schema in schemas:
        create_view(con, schema, table_pattern(storage, schema))
    return con


def create_view(con: duckdb.DuckDBPyConnection, schema: TableSchema, pattern: str) -> bool:
    """``CREATE OR REPLACE VIEW <table>``; returns False when it had to be the empty view."""
    import duckdb

    name = quote_ident(schema.table)
    try:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {parquet_select(pattern)}")
        return True
    except duckdb.IOException as exc:
        log.debug("no files for %s yet (%s); the view is empty", schema.table, exc)
    con.execute(f"CREATE OR REPLACE VIEW {name} AS {empty_select(schema)}")
    return False
