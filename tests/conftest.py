"""Shared fixtures. ``s3_server`` is a real S3 API (moto's server mode) on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: Credentials moto accepts; tests pass them explicitly or through AWS_* variables.
S3_KEY = "testing-key"
S3_SECRET = "testing-secret"
S3_REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server for the whole session; yields its endpoint URL. Use unique bucket
    names (``make_bucket``): the server's state is shared by every test."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def create_bucket(endpoint: str, name: str | None = None) -> str:
    """Create a bucket on the S3 server at ``endpoint``; returns its name."""
    import boto3

    name = name or f"test-{uuid.uuid4().hex[:16]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_bucket(s3_server: str) -> Callable[..., str]:
    """``make_bucket()`` creates a fresh bucket on ``s3_server`` and returns its name."""
    return lambda name=None: create_bucket(s3_server, name)


@pytest.fixture
def s3_options(s3_server: str, make_bucket: Callable[..., str]) -> dict[str, Any]:
    """``storage.s3`` options for a fresh bucket on ``s3_server``."""
    return {
        "bucket": make_bucket(),
        "endpoint": s3_server,
        "region": S3_REGION,
        "access_key_id": S3_KEY,
        "secret_access_key": S3_SECRET,
    }


@dataclass
class RestCatalog:
    """A running Iceberg REST catalog stand-in whose warehouse is in ``bucket`` on the S3 server
    at ``endpoint`` (R2 Data Catalog's arrangement: the tables live in the data bucket)."""

    server: Any  # iceberg_rest_standin.RestCatalogServer
    bucket: str
    endpoint: str
    warehouse: str = "0123abcd_otlp-data"
    token: str = "r2-api-token"

    def mirror(self, objects: dict[str, bytes]) -> None:
        """Copy an R2 stand-in's objects to the S3 bucket, where pyiceberg reads them."""
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
        )
        for key, data in objects.items():
            s3.put_object(Bucket=self.bucket, Key=key, Body=data)


@pytest.fixture
def rest_catalog(
    tmp_path: Path, s3_server: str, make_bucket: Callable[..., str]
) -> Iterator[RestCatalog]:
    """``tests/iceberg_rest_standin.py`` (pyiceberg's SqlCatalog behind the Iceberg REST
    protocol) with its warehouse in a fresh bucket of ``s3_server``."""
    from iceberg_rest_standin import RestCatalogServer

    bucket = make_bucket()
    properties = {
        "uri": f"sqlite:///{tmp_path}/rest-catalog.db",
        "warehouse": f"s3://{bucket}/__r2_data_catalog",
        "s3.endpoint": s3_server,
        "s3.access-key-id": S3_KEY,
        "s3.secret-access-key": S3_SECRET,
        "s3.region": S3_REGION,
        "s3.force-virtual-addressing": "false",
    }
    setup = RestCatalog(None, bucket, s3_server)
    with RestCatalogServer(properties, token=setup.token, prefix=setup.warehouse) as server:
        setup.server = server
        yield setup
