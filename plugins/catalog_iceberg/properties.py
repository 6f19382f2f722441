"""``[iceberg]`` options + the storage backend → pyiceberg catalog properties. No pyiceberg here.

Catalog types (``iceberg.catalog_type``, derived when unset):

- ``sql``: pyiceberg's SQL catalog; ``iceberg.uri`` (sqlite or postgresql), by default a sqlite
  file ``catalog.db`` in the local data directory. Warehouse: the storage root.
- ``rest``: Nessie, Polaris, Lakekeeper, any Iceberg REST catalog at ``iceberg.rest_uri``, with
  ``iceberg.token`` (bearer) or ``iceberg.credential`` (OAuth client credentials).
- ``glue``: AWS Glue in ``iceberg.region`` (else the storage region).
- ``s3tables``: the S3 Tables REST endpoint of the region in ``iceberg.bucket_arn``, SigV4-signed.
- ``r2``: Cloudflare R2 Data Catalog (REST with ``iceberg.token``); URI and warehouse default to
  the R2 bucket of ``storage.r2``.

The FileIO settings (S3 endpoint and credentials, ...) come from the storage backend, so
pyiceberg reads the files exactly where they were written. ``iceberg.properties`` is merged last
and may set or override any pyiceberg property.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from otlp2parquet.errors import ConfigError

CATALOG_NAME = "otlp2parquet"
KINDS = ("sql", "rest", "glue", "s3tables", "r2")
RECEIPT_PREFIX = "_pending/"
#: Property names whose values are never shown.
SECRET_MARKERS = ("token", "credential", "secret", "password", "key-id", "account-key", "sas")
_S3TABLES_ARN = re.compile(r"arn:aws[\w-]*:s3tables:([a-z0-9-]+):\d{12}:bucket/[a-z0-9-]+")
_R2_ENDPOINT = re.compile(r"https://([A-Za-z0-9-]+)\.r2\.cloudflarestorage\.com/?")
R2_CATALOG_URI = "https://catalog.cloudflarestorage.com/{account}/{bucket}"


@dataclass(frozen=True)
class CatalogSettings:
    """Everything the Iceberg catalog needs, resolved from config and the storage backend."""

    kind: str
    properties: dict[str, str]
    namespace: str = "otlp"
    tables: dict[str, str] = field(default_factory=dict)
    sync_interval_secs: float = 30.0
    commit_timeout_secs: float = 60.0
    local_dir: str = ""  # created before connecting: holds the default sqlite catalog
    receipt_prefix: str = RECEIPT_PREFIX

    def table_name(self, schema_name: str, default: str) -> str:
        return self.tables.get(schema_name) or default

    def masked(self) -> dict[str, str]:
        """The properties with secret values masked, for logs and ``catalog status``."""
        return {k: ("********" if is_secret(k) else v) for k, v in self.properties.items()}


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_MARKERS) and lowered not in (
        "token-refresh-enabled",
    )


def resolve(options: Mapping[str, Any], storage: Any) -> CatalogSettings:
    """Validate the ``[iceberg]`` options against ``storage``; raise ConfigError naming the key."""
    props = fileio_properties(storage)
    kind = catalog_kind(options, storage)
    props.update(_BUILDERS[kind](options, storage))
    props.update({str(k): str(v) for k, v in (options.get("properties") or {}).items()})
    namespace = str(options.get("namespace") or "otlp")
    tables = {str(k): str(v) for k, v in (options.get("tables") or {}).items() if v}
    return CatalogSettings(
        kind=kind,
        properties=props,
        namespace=namespace,
        tables=tables,
        sync_interval_secs=float(options.get("sync_interval_secs") or 30),
        commit_timeout_secs=float(options.get("commit_timeout_secs") or 60),
        local_dir=str(storage.root) if kind == "sql" and not options.get("uri") else "",
    )


def catalog_kind(options: Mapping[str, Any], storage: Any) -> str:
    """``iceberg.catalog_type``, else derived: bucket_arn → s3tables, rest_uri → rest (r2 for
    R2 Data Catalog URIs), uri → sql, R2 storage → r2, local storage → sql."""
    explicit = options.get("catalog_type")
    if explicit:
        if explicit not in KINDS:
            raise ConfigError(
                f"iceberg.catalog_type {explicit!r} is unknown; use one of {', '.join(KINDS)}"
            )
        return str(explicit)
    if options.get("bucket_arn"):
        return "s3tables"
    if options.get("rest_uri"):
        return "r2" if "catalog.cloudflarestorage.com" in str(options["rest_uri"]) else "rest"
    if options.get("uri"):
        return "sql"
    protocol = storage_protocol(storage)
    if protocol == "file":
        return "sql"
    if getattr(storage, "name", "") == "r2":
        return "r2"
    raise ConfigError(
        f'catalog_mode = "iceberg" with {getattr(storage, "name", protocol)} storage needs a '
        "catalog: set iceberg.rest_uri (REST), iceberg.bucket_arn (S3 Tables), "
        'iceberg.catalog_type = "glue" (AWS Glue) or iceberg.uri (SQL, e.g. '
        "postgresql+psycopg2://user@host/db), in config.toml or as OTLP2PARQUET_ICEBERG_*"
    )


def storage_protocol(storage: Any) -> str:
    fs = getattr(storage, "fs", None)
    protocol = getattr(fs, "protocol", "file") if fs is not None else "file"
    protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
    return {"local": "file", "s3a": "s3", "gcs": "gs", "az": "abfs"}.get(protocol, protocol)


def fileio_properties(storage: Any) -> dict[str, str]:
    """pyiceberg FileIO properties matching the storage backend's own settings."""
    protocol = storage_protocol(storage)
    fs = getattr(storage, "fs", None)
    props: dict[str, Any] = {}
    if protocol == "s3":
        client = getattr(fs, "client_kwargs", None) or {}
        props = {
            "s3.endpoint": getattr(fs, "endpoint_url", None),
            "s3.access-key-id": getattr(fs, "key", None),
            "s3.secret-access-key": getattr(fs, "secret", None),
            "s3.session-token": getattr(fs, "token", None),
            "s3.region": client.get("region_name"),
        }
        if props["s3.endpoint"]:
            props["s3.force-virtual-addressing"] = "false"
    elif protocol == "gs":
        props = {"gcs.project-id": getattr(fs, "project", None)}
    elif protocol == "abfs":
        props = {
            "adls.account-name": getattr(fs, "account_name", None),
            "adls.account-key": getattr(fs, "account_key", None),
            "adls.sas-token": getattr(fs, "sas_token", None),
            "adls.connection-string": getattr(fs, "connection_string", None),
        }
    elif protocol != "file":
        raise ConfigError(
            f'catalog_mode = "iceberg" cannot use {getattr(storage, "name", protocol)!r} '
            "storage: pyiceberg reads only local, S3/R2, GCS and Azure files; choose one of "
            "those with storage.backend"
        )
    return {k: str(v) for k, v in props.items() if v not in (None, "")}


def _aws_client(storage: Any, region: str | None) -> dict[str, str]:
    """``client.*`` properties (Glue, SigV4 signing) from the S3 storage credentials."""
    s3 = fileio_properties(storage) if storage_protocol(storage) == "s3" else {}
    mapping = {
        "client.access-key-id": s3.get("s3.access-key-id"),
        "client.secret-access-key": s3.get("s3.secret-access-key"),
        "client.session-token": s3.get("s3.session-token"),
        "client.region": region or s3.get("s3.region"),
    }
    return {k: v for k, v in mapping.items() if v}


def _sql(options: Mapping[str, Any], storage: Any) -> dict[str, str]:
    uri = options.get("uri")
    if not uri:
        if storage_protocol(storage) != "file":
            raise ConfigError(
                'iceberg.catalog_type = "sql" needs iceberg.uri when storage is not local '
                "(e.g. postgresql+psycopg2://user@host/db); set it in config.toml or with "
                "OTLP2PARQUET_ICEBERG_URI"
            )
        uri = f"sqlite:///{storage.root}/catalog.db"
    return {
        "type": "sql",
        "uri": str(uri),
        "warehouse": str(options.get("warehouse") or storage.url("")),
        "init_catalog_tables": "true",
    }


def _rest(options: Mapping[str, Any], storage: Any) -> dict[str, str]:
    uri = options.get("rest_uri")
    if not uri:
        raise ConfigError(
            'iceberg.catalog_type = "rest" needs iceberg.rest_uri; set it in config.toml or '
            "with OTLP2PARQUET_ICEBERG_REST_URI"
        )
    props = {"type": "rest", "uri": str(uri)}
    for key in ("warehouse", "token", "credential"):
        if options.get(key):
            props[key] = str(options[key])
    return props


def _glue(options: Mapping[str, Any], storage: Any) -> dict[str, str]:
    props = {"type": "glue", **_aws_client(storage, options.get("region"))}
    if "client.region" in props:
        props["glue.region"] = props["client.region"]
    props["warehouse"] = str(options.get("warehouse") or storage.url(""))
    return props


def _s3tables(options: Mapping[str, Any], storage: Any) -> dict[str, str]:
    arn = str(options.get("bucket_arn") or "")
    match = _S3TABLES_ARN.fullmatch(arn)
    if not match:
        raise ConfigError(
            f"iceberg.bucket_arn {arn!r} is not an S3 table bucket ARN "
            "(arn:aws:s3tables:REGION:ACCOUNT:bucket/NAME)"
        )
    region = str(options.get("region") or match.group(1))
    return {
        "type": "rest",
        "uri": str(options.get("rest_uri") or f"https://s3tables.{region}.amazonaws.com/iceberg"),
        "warehouse": arn,
        "rest.sigv4-enabled": "true",
        "rest.signing-name": "s3tables",
        "rest.signing-region": region,
        **_aws_client(storage, region),
    }


def _r2(options: Mapping[str, Any], storage: Any) -> dict[str, str]:
    uri, warehouse = options.get("rest_uri"), options.get("warehouse")
    if not uri or not warehouse:
        endpoint = str(getattr(getattr(storage, "fs", None), "endpoint_url", "") or "")
        match = _R2_ENDPOINT.fullmatch(endpoint)
        if not match or getattr(storage, "name", "") != "r2":
            raise ConfigError(
                'iceberg.catalog_type = "r2" needs iceberg.rest_uri and iceberg.warehouse (as '
                "shown by `wrangler r2 bucket catalog enable BUCKET`), or storage.backend = "
                '"r2" with storage.r2.account_id to derive them'
            )
        account, bucket = match.group(1), str(storage.root).split("/", 1)[0]
        uri = uri or R2_CATALOG_URI.format(account=account, bucket=bucket)
        warehouse = warehouse or f"{account}_{bucket}"
    if not options.get("token"):
        raise ConfigError(
            "the R2 Data Catalog needs an API token with R2 Data Catalog permissions: set "
            "OTLP2PARQUET_ICEBERG_TOKEN (or iceberg.token)"
        )
    return {
        "type": "rest",
        "uri": str(uri),
        "warehouse": str(warehouse),
        "token": str(options["token"]),
    }


_BUILDERS = {"sql": _sql, "rest": _rest, "glue": _glue, "s3tables": _s3tables, "r2": _r2}
