"""The Iceberg REST catalog calls an append needs (config, load and create table, commit), over an
injected ``send`` so they run with a Worker's ``fetch`` and with urllib alike; the catalog's
ErrorModel messages become CatalogError (409: ``CommitConflict``). No pyiceberg here."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from otlp2parquet.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

#: ``send(method, url, headers, body) -> (status, body)``; raises OSError when unreachable.
Send = Callable[[str, str, Mapping[str, str], bytes | None], tuple[int, bytes]]


class CommitConflict(CatalogError):
    """The table moved between load and commit (HTTP 409)."""


@dataclass(frozen=True)
class RestSettings:
    """The ``[iceberg]`` options the REST committer uses."""

    uri: str
    warehouse: str = ""
    token: str = ""
    namespace: str = "otlp"
    tables: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RestSettings:
        kind = str(options.get("catalog_type") or "")
        if kind not in ("", "rest", "r2"):
            raise ConfigError(
                f'iceberg.catalog_type = "{kind}" cannot be used from a Cloudflare Worker; use '
                '"r2" (R2 Data Catalog) or "rest" with iceberg.rest_uri and iceberg.token'
            )
        uri = str(options.get("rest_uri") or "")
        if not uri:
            raise ConfigError(
                "the Worker's catalog sync needs iceberg.rest_uri and iceberg.warehouse (as "
                "`wrangler r2 bucket catalog enable BUCKET` prints them) and iceberg.token; set "
                "OTLP2PARQUET_ICEBERG_REST_URI, OTLP2PARQUET_ICEBERG_WAREHOUSE and the secret "
                "OTLP2PARQUET_ICEBERG_TOKEN"
            )
        if options.get("credential") and not options.get("token"):
            raise ConfigError(
                "iceberg.credential (OAuth client credentials) is not supported in the Worker; "
                "set iceberg.token (an R2 API token with catalog access)"
            )
        return cls(
            uri=uri.rstrip("/"),
            warehouse=str(options.get("warehouse") or ""),
            token=str(options.get("token") or ""),
            namespace=str(options.get("namespace") or "otlp"),
            tables={str(k): str(v) for k, v in (options.get("tables") or {}).items() if v},
        )


class RestCatalogClient:
    """The few REST catalog calls an append needs, with ErrorModel messages in CatalogError."""

    def __init__(self, settings: RestSettings, send: Send) -> None:
        self.settings = settings
        self.send = send
        self._prefix: str | None = None

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        url = f"{self.settings.uri}{path}"
        try:
            status, raw = self.send(method, url, headers, data)
        except OSError as exc:
            raise CatalogError(
                f"cannot reach the Iceberg REST catalog at {self.settings.uri}: {exc}"
            ) from exc
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if status >= 400:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            message = error.get("message") or raw[:200].decode("utf-8", "replace")
            text = f"{method} {path}: HTTP {status} {error.get('type', '')}: {message}".strip()
            if status == 409:
                raise CommitConflict(text)
            if status in (401, 403):
                raise CatalogError(f"the Iceberg REST catalog refused the token: {text}")
            if status != 404:
                raise CatalogError(f"Iceberg REST catalog error: {text}")
        return status, payload

    def prefix(self) -> str:
        """The path prefix from ``GET /v1/config`` (``overrides.prefix``), asked once."""
        if self._prefix is None:
            warehouse = self.settings.warehouse
            query = f"?warehouse={quote(warehouse)}" if warehouse else ""
            status, config = self._call("GET", f"/v1/config{query}")
            if status == 404 or not isinstance(config, dict):
                raise CatalogError(f"{self.settings.uri} is not an Iceberg REST catalog")
            merged = {**config.get("defaults", {}), **config.get("overrides", {})}
            prefix = str(merged.get("prefix") or "")
            self._prefix = f"/v1/{quote(prefix, safe='')}" if prefix else "/v1"
        return self._prefix

    def _table_path(self, namespace: str, name: str = "") -> str:
        path = f"{self.prefix()}/namespaces/{quote(namespace, safe='')}"
        return f"{path}/tables/{quote(name, safe='')}" if name else f"{path}/tables"

    def load_table(self, namespace: str, name: str) -> dict[str, Any] | None:
        status, result = self._call("GET", self._table_path(namespace, name))
        return None if status == 404 else result

    def create_table(self, namespace: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """Create the table (and its namespace); a concurrent creation loads the winner's."""
        status, _ = self._call("GET", f"{self.prefix()}/namespaces/{quote(namespace, safe='')}")
        if status == 404:
            try:
                self._call("POST", f"{self.prefix()}/namespaces", {"namespace": [namespace]})
            except CommitConflict:  # created meanwhile
                log.debug("namespace %s was created concurrently", namespace)
        try:
            status, result = self._call("POST", self._table_path(namespace), dict(request))
        except CommitConflict:
            result = self.load_table(namespace, str(request["name"]))
        if not isinstance(result, dict) or "metadata" not in result:
            raise CatalogError(f"creating {namespace}.{request['name']} returned no table metadata")
        return result

    def commit(self, namespace: str, name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        status, result = self._call("POST", self._table_path(namespace, name), dict(request))
        if status == 404:
            raise CatalogError(f"Iceberg table {namespace}.{name} disappeared during the commit")
        return result
