"""pyiceberg's own REST client against the Iceberg REST catalog stand-in, end to end."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, UnauthorizedError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import LongType, NestedField, StringType

from support.iceberg_rest_standin import RestCatalogServer

TOKEN = "s3cret-token"
PREFIX = "standin"

# Deliberately non-sequential field ids: the REST client renumbers them before sending.
SCHEMA = Schema(
    NestedField(10, "service", StringType(), required=False),
    NestedField(20, "value", LongType(), required=False),
)
SPEC = PartitionSpec(
    PartitionField(source_id=10, field_id=1000, transform=IdentityTransform(), name="service")
)
ARROW_SCHEMA = pa.schema([pa.field("service", pa.string()), pa.field("value", pa.int64())])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestCatalogServer]:
    properties = {
        "uri": f"sqlite:///{tmp_path / 'catalog.db'}",
        "warehouse": (tmp_path / "warehouse").as_uri(),
    }
    with RestCatalogServer(properties, token=TOKEN, prefix=PREFIX) as standin:
        yield standin


def _client(server: RestCatalogServer, token: str | None = TOKEN) -> RestCatalog:
    properties = {"uri": server.uri}
    if token is not None:
        properties["token"] = token
    return RestCatalog("rest", **properties)


def _rows(service: str, values: list[int]) -> pa.Table:
    return pa.table({"service": [service] * len(values), "value": values}, schema=ARROW_SCHEMA)


def _http(
    server: RestCatalogServer, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, Any] | None]:
    request = urllib.request.Request(server.uri + path, data=body, method=method)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def test_create_append_twice_and_scan(server: RestCatalogServer) -> None:
    catalog = _client(server)
    catalog.create_namespace("otel", {"owner": "tests"})
    assert catalog.list_namespaces() == [("otel",)]
    assert catalog.load_namespace_properties("otel") == {"owner": "tests"}

    table = catalog.create_table("otel.logs", schema=SCHEMA, partition_spec=SPEC)
    # pyiceberg's REST client assigns fresh ids (1, 2) and remaps the spec's source id.
    assert [(f.field_id, f.name) for f in table.schema().fields] == [(1, "service"), (2, "value")]
    assert table.spec().fields[0].source_id == 1
    assert catalog.list_tables("otel") == [("otel", "logs")]
    assert catalog.table_exists("otel.logs")
    assert not catalog.table_exists("otel.nope")

    table.append(_rows("api", [1, 2]))
    table.append(_rows("web", [3]))

    reloaded = _client(server).load_table("otel.logs")
    assert len(reloaded.snapshots()) == 2
    scanned = reloaded.scan().to_arrow().sort_by("value")
    assert scanned.to_pydict() == {"service": ["api", "api", "web"], "value": [1, 2, 3]}
    assert reloaded.metadata_location == server.catalog.load_table("otel.logs").metadata_location
    assert ("POST", f"/v1/{PREFIX}/namespaces/otel/tables/logs") in server.requests
    assert ("HEAD", f"/v1/{PREFIX}/namespaces/otel/tables/logs") in server.requests


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_bad_or_missing_token_is_rejected(server: RestCatalogServer, token: str | None) -> None:
    with pytest.raises(UnauthorizedError, match="NotAuthorizedException"):
        _client(server, token=token)

    request = urllib.request.Request(server.uri + "/v1/config")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 401
    body = json.loads(caught.value.read())
    assert body["error"]["type"] == "NotAuthorizedException"
    assert body["error"]["code"] == 401


def test_injected_conflict_is_retried_by_pyiceberg(server: RestCatalogServer) -> None:
    catalog = _client(server)
    catalog.create_namespace("otel")
    table = catalog.create_table("otel.logs", schema=SCHEMA, partition_spec=SPEC)
    commit = ("POST", f"/v1/{PREFIX}/namespaces/otel/tables/logs")

    server.conflicts = 1
    before = server.requests.count(commit)
    table.append(_rows("api", [7]))

    assert server.conflicts == 0
    assert server.requests.count(commit) - before == 2  # the 409, then the retried commit
    reloaded = catalog.load_table("otel.logs")
    assert len(reloaded.snapshots()) == 1
    assert reloaded.scan().to_arrow().to_pydict() == {"service": ["api"], "value": [7]}


def test_injected_conflict_surfaces_without_retries(server: RestCatalogServer) -> None:
    catalog = _client(server)
    catalog.create_namespace("otel")
    table = catalog.create_table(
        "otel.logs", schema=SCHEMA, properties={"commit.retry.num-retries": "0"}
    )

    server.conflicts = 1
    with pytest.raises(CommitFailedException, match="Injected commit conflict"):
        table.append(_rows("api", [7]))
    assert server.conflicts == 0
    assert catalog.load_table("otel.logs").snapshots() == []


def test_error_model_bodies(server: RestCatalogServer) -> None:
    _client(server).create_namespace("otel")
    status, body = _http(server, "GET", f"/v1/{PREFIX}/namespaces/otel/tables/missing")
    assert status == 404
    assert body is not None
    assert body["error"]["type"] == "NoSuchTableException"
    assert body["error"]["code"] == 404
    assert "missing" in body["error"]["message"]

    status, body = _http(server, "POST", f"/v1/{PREFIX}/namespaces", b"{not json")
    assert status == 400
    assert body is not None
    assert body["error"]["type"] == "BadRequestException"

    status, body = _http(server, "POST", f"/v1/{PREFIX}/namespaces", b'{"namespace": ["otel"]}')
    assert status == 409
    assert body is not None
    assert body["error"]["type"] == "AlreadyExistsException"

    with pytest.raises(NoSuchTableError):
        _client(server).load_table("otel.missing")


def test_create_table_transaction_and_drop(server: RestCatalogServer) -> None:
    catalog = _client(server)
    catalog.create_namespace("otel")
    with catalog.create_table_transaction("otel.metrics", schema=SCHEMA) as txn:
        txn.append(_rows("db", [5]))
    table = catalog.load_table("otel.metrics")
    assert table.scan().to_arrow().to_pydict() == {"service": ["db"], "value": [5]}

    catalog.drop_table("otel.metrics")
    assert not catalog.table_exists("otel.metrics")
    assert catalog.list_tables("otel") == []
