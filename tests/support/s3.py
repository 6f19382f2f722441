"""The S3 API server the tests share (moto's server mode): credentials, free ports, buckets."""

from __future__ import annotations

import socket
import uuid

#: Credentials moto accepts; tests pass them explicitly or through AWS_* variables.
S3_KEY = "testing-key"
S3_SECRET = "testing-secret"
S3_REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
