"""A stand-in Iceberg REST catalog for tests.

Cloudflare R2 Data Catalog and other hosted Iceberg REST catalogs cannot run on this machine, so
tests talk to this server instead. It speaks the Apache Iceberg REST catalog protocol (the
OpenAPI ``/v1/...`` endpoints, ErrorModel bodies, bearer-token auth) over HTTP, and every
operation is carried out by a real pyiceberg ``SqlCatalog`` backed by a SQLite file, so table
metadata and data files are genuine Iceberg. Only the catalog service is stood in for; clients
such as ``pyiceberg.catalog.rest.RestCatalog`` are real.

Implemented: config; list/create/load/head/drop namespaces; list/create (including
``stage-create``)/load/head/commit/drop tables. Anything else answers 501.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import ValidationError
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.rest import TableResponse
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableRequest, Table
from pyiceberg.table.metadata import new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.table.update import AssertCreate

logger = logging.getLogger(__name__)

#: Separator between namespace levels in a URL path segment (percent-encoded or raw).
_NAMESPACE_SEPARATOR = re.compile(r"%1[fF]|\x1f")
#: What SqlCatalog stores for a namespace created without properties; hidden from clients.
_SQL_MINIMAL_PROPERTIES = {"exists": "true"}

#: Endpoints advertised in the config response, so clients use exactly these.
ENDPOINTS = (
    "GET /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "DELETE /v1/{prefix}/namespaces/{namespace}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
)


class RestError(Exception):
    """An error answered to the client as the spec's ErrorModel."""

    def __init__(self, code: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.error_type = error_type
        self.message = message

    def body(self) -> dict[str, Any]:
        """Return the ErrorModel JSON object."""
        return {"error": {"message": self.message, "type": self.error_type, "code": self.code}}


def _not_found_table(ident: tuple[str, ...]) -> RestError:
    return RestError(404, "NoSuchTableException", f"Table does not exist: {'.'.join(ident)}")


def _not_found_namespace(namespace: tuple[str, ...]) -> RestError:
    return RestError(
        404, "NoSuchNamespaceException", f"Namespace does not exist: {'.'.join(namespace)}"
    )


def _bad_request(message: str) -> RestError:
    return RestError(400, "BadRequestException", message)


def _decode_namespace(segment: str) -> tuple[str, ...]:
    """Decode a namespace path segment: levels joined by %1F, each level percent-encoded."""
    levels = tuple(unquote(part) for part in _NAMESPACE_SEPARATOR.split(segment))
    if not all(levels):
        raise _bad_request(f"Invalid namespace: {segment!r}")
    return levels


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad_request(f"Malformed JSON body: {exc}") from exc
    if not isinstance(value, dict):
        raise _bad_request("Request body must be a JSON object")
    return value


def _string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _bad_request(f"{field} must be an object of strings")
    return value


class _Response:
    """A status plus an optional JSON body (already serialized)."""

    def __init__(self, status: int, body: str | None = None) -> None:
        self.status = status
        self.body = body

    @classmethod
    def json(cls, status: int, value: Any) -> _Response:
        return cls(status, json.dumps(value))


class RestCatalogServer:
    """An Iceberg REST catalog on 127.0.0.1, backed by a pyiceberg SqlCatalog.

    Use as a context manager; ``uri`` is valid inside the ``with`` block.

    Args:
        properties: SqlCatalog properties (``uri`` of a SQLite *file*, ``warehouse``, FileIO
            settings such as ``s3.endpoint``).
        token: When set, every request must carry ``Authorization: Bearer <token>``.
        prefix: The ``prefix`` override handed out by ``/v1/config``.
        table_config: The ``config`` returned with every LoadTableResult (e.g. vended
            ``s3.*`` credentials); empty by default.

    Attributes:
        requests: ``(method, path)`` of every request received, in order.
        conflicts: While > 0, each table commit answers 409 CommitFailedException without being
            applied, and decrements this counter.
    """

    def __init__(
        self,
        properties: dict[str, str],
        token: str | None = None,
        prefix: str = "standin",
        *,
        table_config: dict[str, str] | None = None,
    ) -> None:
        if ":memory:" in properties.get("uri", "") or properties.get("uri") == "sqlite://":
            # SQLAlchemy gives every thread its own in-memory SQLite database.
            raise ValueError("RestCatalogServer needs a file-backed SQLite uri")
        self.properties = dict(properties)
        self.token = token
        self.prefix = prefix
        self.table_config = dict(table_config or {})
        self.requests: list[tuple[str, str]] = []
        self.conflicts = 0
        self._lock = threading.Lock()
        self._catalog: SqlCatalog | None = None
        self._httpd: _StandinHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> RestCatalogServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Create the SqlCatalog and serve on an OS-chosen port in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("RestCatalogServer is already running")
        self._catalog = SqlCatalog("standin", **self.properties)
        self._httpd = _StandinHTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="iceberg-rest-standin",
            daemon=True,
        )
        self._thread.start()
        logger.info("Iceberg REST stand-in listening on %s", self.uri)

    def stop(self) -> None:
        """Stop serving and release the catalog."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._catalog is not None:
            self._catalog.close()
        self._httpd = None
        self._thread = None
        self._catalog = None

    @property
    def uri(self) -> str:
        """Base URI for REST clients, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError("RestCatalogServer is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def catalog(self) -> SqlCatalog:
        """The backing SqlCatalog, for direct inspection by tests."""
        if self._catalog is None:
            raise RuntimeError("RestCatalogServer is not running")
        return self._catalog

    # -- request handling --------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes | None
    ) -> _Response:
        """Answer one request; every failure becomes an ErrorModel response."""
        split = urlsplit(raw_path)
        with self._lock:
            self.requests.append((method, split.path))
        try:
            self._authorize(headers)
            return self._route(method, split.path, parse_qs(split.query), body)
        except RestError as exc:
            return _Response.json(exc.code, exc.body())
        except ValidationError as exc:  # a body that does not match the spec's models
            return _Response.json(400, _bad_request(f"Invalid request body: {exc}").body())
        except Exception as exc:
            logger.exception("Iceberg REST stand-in failed on %s %s", method, raw_path)
            error = RestError(500, type(exc).__name__, f"{type(exc).__name__}: {exc}")
            return _Response.json(500, error.body())

    def _authorize(self, headers: dict[str, str]) -> None:
        if self.token is None:
            return
        supplied = headers.get("authorization", "")
        expected = f"Bearer {self.token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise RestError(401, "NotAuthorizedException", "Not authorized: missing or bad token")

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> _Response:
        parts = path.strip("/").split("/")
        if parts == ["v1", "config"] and method == "GET":
            return _Response.json(
                200,
                {"defaults": {}, "overrides": {"prefix": self.prefix}, "endpoints": ENDPOINTS},
            )
        if len(parts) >= 3 and parts[0] == "v1" and parts[1] == self.prefix:
            rest = parts[2:]
            if rest == ["namespaces"]:
                if method == "GET":
                    return self._list_namespaces(query)
                if method == "POST":
                    return self._create_namespace(_json_object(body or b""))
            elif len(rest) == 2 and rest[0] == "namespaces":
                namespace = _decode_namespace(rest[1])
                if method in ("GET", "HEAD"):
                    return self._load_namespace(namespace, head=method == "HEAD")
                if method == "DELETE":
                    return self._drop_namespace(namespace)
            elif len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "tables":
                namespace = _decode_namespace(rest[1])
                if method == "GET":
                    return self._list_tables(namespace)
                if method == "POST":
                    return self._create_table(namespace, _json_object(body or b""))
            elif len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "tables":
                ident = (*_decode_namespace(rest[1]), unquote(rest[3]))
                if method in ("GET", "HEAD"):
                    return self._load_table(ident, head=method == "HEAD")
                if method == "POST":
                    return self._commit_table(ident, _json_object(body or b""))
                if method == "DELETE":
                    purge = query.get("purgeRequested", ["false"])[0].lower() == "true"
                    return self._drop_table(ident, purge=purge)
        raise RestError(
            501,
            "UnsupportedOperationException",
            f"Not implemented by the stand-in: {method} {path}",
        )

    # -- namespaces --------------------------------------------------------------------------

    def _list_namespaces(self, query: dict[str, list[str]]) -> _Response:
        parent = _decode_namespace(query["parent"][0]) if query.get("parent") else ()
        with self._locked() as catalog:
            if parent and not catalog.namespace_exists(parent):
                raise _not_found_namespace(parent)
            namespaces = sorted(catalog.list_namespaces(parent))
        return _Response.json(200, {"namespaces": [list(ns) for ns in namespaces]})

    def _create_namespace(self, body: dict[str, Any]) -> _Response:
        namespace = body.get("namespace")
        if (
            not isinstance(namespace, list)
            or not namespace
            or not all(isinstance(level, str) and level for level in namespace)
        ):
            raise _bad_request("namespace must be a non-empty list of strings")
        properties = _string_map(body.get("properties"), "properties")
        with self._locked() as catalog:
            try:
                catalog.create_namespace(tuple(namespace), properties)
            except NamespaceAlreadyExistsError as exc:
                raise RestError(409, "AlreadyExistsException", str(exc)) from exc
        return _Response.json(200, {"namespace": namespace, "properties": properties})

    def _load_namespace(self, namespace: tuple[str, ...], *, head: bool) -> _Response:
        with self._locked() as catalog:
            if not catalog.namespace_exists(namespace):
                raise _not_found_namespace(namespace)
            if head:
                return _Response(204)
            properties = catalog.load_namespace_properties(namespace)
        if properties == _SQL_MINIMAL_PROPERTIES:
            properties = {}
        return _Response.json(200, {"namespace": list(namespace), "properties": properties})

    def _drop_namespace(self, namespace: tuple[str, ...]) -> _Response:
        with self._locked() as catalog:
            try:
                catalog.drop_namespace(namespace)
            except NoSuchNamespaceError as exc:
                raise _not_found_namespace(namespace) from exc
            except NamespaceNotEmptyError as exc:
                raise RestError(409, "NamespaceNotEmptyException", str(exc)) from exc
        return _Response(204)

    # -- tables ------------------------------------------------------------------------------

    def _list_tables(self, namespace: tuple[str, ...]) -> _Response:
        with self._locked() as catalog:
            if not catalog.namespace_exists(namespace):
                raise _not_found_namespace(namespace)
            idents = sorted(catalog.list_tables(namespace))
        return _Response.json(
            200,
            {"identifiers": [{"namespace": list(i[:-1]), "name": i[-1]} for i in idents]},
        )

    def _create_table(self, namespace: tuple[str, ...], body: dict[str, Any]) -> _Response:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise _bad_request("name must be a non-empty string")
        location = body.get("location")
        if location is not None and not isinstance(location, str):
            raise _bad_request("location must be a string")
        if "schema" not in body:
            raise _bad_request("schema is required")
        schema = Schema.model_validate(body["schema"])
        spec_json = body.get("partition-spec")
        spec = (
            UNPARTITIONED_PARTITION_SPEC
            if spec_json is None
            else PartitionSpec.model_validate(spec_json)
        )
        order_json = body.get("write-order")
        order = UNSORTED_SORT_ORDER if order_json is None else SortOrder.model_validate(order_json)
        properties = _string_map(body.get("properties"), "properties")
        ident = (*namespace, name)
        with self._locked() as catalog:
            if not catalog.namespace_exists(namespace):
                raise _not_found_namespace(namespace)
            if catalog.table_exists(ident):
                raise RestError(409, "AlreadyExistsException", f"Table already exists: {name}")
            if body.get("stage-create"):
                # Nothing is registered; the client commits the table later with AssertCreate.
                table_location = catalog._resolve_table_location(
                    location.rstrip("/") if location else None,
                    Catalog.namespace_to_string(namespace),
                    name,
                )
                metadata = new_table_metadata(
                    schema=schema,
                    partition_spec=spec,
                    sort_order=order,
                    location=table_location,
                    properties=properties,
                )
                staged = TableResponse(metadata=metadata, config=self.table_config)
                return _Response(200, staged.model_dump_json())
            try:
                table = catalog.create_table(
                    ident,
                    schema=schema,
                    location=location.rstrip("/") if location else None,
                    partition_spec=spec,
                    sort_order=order,
                    properties=properties,
                )
            except TableAlreadyExistsError as exc:
                raise RestError(409, "AlreadyExistsException", str(exc)) from exc
        return self._table_result(table)

    def _load_table(self, ident: tuple[str, ...], *, head: bool) -> _Response:
        with self._locked() as catalog:
            try:
                table = catalog.load_table(ident)
            except (NoSuchTableError, NoSuchNamespaceError) as exc:
                raise _not_found_table(ident) from exc
        return _Response(204) if head else self._table_result(table)

    def _commit_table(self, ident: tuple[str, ...], body: dict[str, Any]) -> _Response:
        body.setdefault("identifier", {"namespace": list(ident[:-1]), "name": ident[-1]})
        request = CommitTableRequest.model_validate(body)
        with self._locked() as catalog:
            if self.conflicts > 0:
                self.conflicts -= 1
                raise RestError(
                    409, "CommitFailedException", f"Injected commit conflict on {'.'.join(ident)}"
                )
            try:
                table: Table = catalog.load_table(ident)
            except (NoSuchTableError, NoSuchNamespaceError) as exc:
                if not any(isinstance(r, AssertCreate) for r in request.requirements):
                    raise _not_found_table(ident) from exc
                if not catalog.namespace_exists(ident[:-1]):
                    raise _not_found_namespace(ident[:-1]) from exc
                table = cast(Table, _TableName(ident))
            try:
                response = catalog.commit_table(table, request.requirements, request.updates)
            except CommitFailedException as exc:
                raise RestError(409, "CommitFailedException", str(exc)) from exc
            except TableAlreadyExistsError as exc:
                raise RestError(409, "AlreadyExistsException", str(exc)) from exc
            except ValueError as exc:
                # Updates that cannot be applied to the current metadata.
                raise _bad_request(f"{type(exc).__name__}: {exc}") from exc
        return _Response(200, response.model_dump_json())

    def _drop_table(self, ident: tuple[str, ...], *, purge: bool) -> _Response:
        with self._locked() as catalog:
            try:
                if purge:
                    catalog.purge_table(ident)
                else:
                    catalog.drop_table(ident)
            except (NoSuchTableError, NoSuchNamespaceError) as exc:
                raise _not_found_table(ident) from exc
        return _Response(204)

    def _table_result(self, table: Table) -> _Response:
        result = TableResponse.model_validate(
            {
                "metadata-location": table.metadata_location,
                "metadata": table.metadata,
                "config": self.table_config,
            }
        )
        return _Response(200, result.model_dump_json())

    @contextmanager
    def _locked(self) -> Iterator[SqlCatalog]:
        """Hold the server lock around catalog operations."""
        with self._lock:
            yield self.catalog


class _TableName:
    """What SqlCatalog.commit_table needs of a table that does not exist yet: its name."""

    def __init__(self, ident: tuple[str, ...]) -> None:
        self._ident = ident

    def name(self) -> tuple[str, ...]:
        return self._ident


class _StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        standin: RestCatalogServer,
    ) -> None:
        super().__init__(address, handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _StandinHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return b"".join(self._chunks())
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            return None
        return self.rfile.read(size) if size > 0 else b""

    def _chunks(self) -> Iterator[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers
                    pass
                return
            yield self.rfile.read(size)
            self.rfile.readline()

    def _serve(self) -> None:
        try:
            body = self._read_body()
            headers = {key.lower(): value for key, value in self.headers.items()}
            response = self.server.standin.handle(self.command, self.path, headers, body)
        except Exception as exc:  # e.g. a malformed chunked body
            logger.exception("Iceberg REST stand-in could not read the request")
            self.close_connection = True
            error = RestError(400, "BadRequestException", f"Unreadable request: {exc}")
            response = _Response.json(400, error.body())
        self._send(response)

    def _send(self, response: _Response) -> None:
        payload = (response.body or "").encode()
        try:
            self.send_response(response.status, HTTPStatus(response.status).phrase)
            if response.status != 204:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
            if response.status == 401:
                self.send_header("WWW-Authenticate", "Bearer")
            self.end_headers()
            if self.command != "HEAD" and response.status != 204:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client went away before the response was sent")
            self.close_connection = True
