"""A running Iceberg REST catalog stand-in, as the ``rest_catalog`` fixture hands it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from support.s3 import S3_KEY, S3_REGION, S3_SECRET


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
