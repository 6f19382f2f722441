"""An S3-backed server config with a spool, and what landed in the bucket."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import boto3
import pyarrow.parquet as pq

from support.s3 import S3_KEY, S3_REGION, S3_SECRET

SPOOL_CAP = 64 * 1024


def config(endpoint: str, bucket: str, spool: Path) -> str:
    return f"""
[batch]
max_age_secs = 0.2
retry_initial_secs = 0.1
retry_max_secs = 0.5
[storage]
backend = "s3"
[storage.s3]
bucket = "{bucket}"
endpoint = "{endpoint}"
region = "{S3_REGION}"
access_key_id = "{S3_KEY}"
secret_access_key = "{S3_SECRET}"
[durability]
spool_dir = "{spool}"
max_spool_bytes = {SPOOL_CAP}
"""


def landed(endpoint: str, bucket: str, table: str = "logs", column: str = "Body") -> Counter[str]:
    """How often each value of ``column`` is in the bucket's ``table`` files."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )
    counts: Counter[str] = Counter()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=table):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".parquet"):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                table_data = pq.read_table(io.BytesIO(body), columns=[column])
                counts.update(table_data[column].to_pylist())
    return counts
