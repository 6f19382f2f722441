"""How ``query duckdb`` and ``query clickhouse`` reach the files of each ``storage_fsspec``
backend in place: the ``query`` meta those backends register."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.query.access import LakeAccess


def _aws_bucket_url(options: Mapping[str, Any], bucket: str, section: str) -> str:
    region = options.get("region")
    host = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
    return f"https://{bucket}.{host}/"


def _r2_endpoint(options: Mapping[str, Any]) -> str | None:
    account = options.get("account_id")
    return f"https://{account}.r2.cloudflarestorage.com" if account else None


def _r2_bucket_url(options: Mapping[str, Any], bucket: str, section: str) -> str:
    if not options.get("account_id"):
        raise ConfigError(f"{section}.account_id is not set; ClickHouse needs it to find the files")
    return f"{_r2_endpoint(options)}/{bucket}/"


def _gcs_bucket_url(options: Mapping[str, Any], bucket: str, section: str) -> str:
    return f"https://storage.googleapis.com/{bucket}/"


#: How ``query duckdb`` and ``query clickhouse`` reach each backend's files in place.
QUERY = {
    "fs": LakeAccess(clickhouse="File"),
    "s3": LakeAccess(clickhouse="S3", bucket_url=_aws_bucket_url, s3_secret=True),
    "r2": LakeAccess(
        "S3", _r2_bucket_url, s3_secret=True, s3_region="auto", s3_endpoint=_r2_endpoint
    ),
    "gcs": LakeAccess(clickhouse="S3", bucket_url=_gcs_bucket_url),
    "azure": LakeAccess(clickhouse="AzureBlobStorage"),
}
