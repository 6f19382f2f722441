"""A single-process server whose store hangs stops within ``server.drain_timeout_secs`` after
SIGTERM (exit 1, saying why) instead of waiting for the S3 client's own timeouts; what it had
acknowledged is in the spool and lands once after a restart with the store back."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hung_endpoint import hung_endpoint
from support.otlp_server import ServerProcess
from support.outage_support import landed
from support.s3 import S3_KEY, S3_REGION, S3_SECRET, create_bucket
from support.spool_support import PROTOBUF, logs_body

DRAIN = 3.0


@pytest.fixture
def hung_s3() -> Iterator[str]:
    with hung_endpoint() as url:
        yield url


def config(endpoint: str, bucket: str, spool: Path) -> str:
    return f"""
[server]
drain_timeout_secs = {DRAIN}
[batch]
max_age_secs = 3600
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
"""


def test_sigterm_with_a_hung_store_stops_within_the_drain_timeout(
    tmp_path: Path, hung_s3: str, s3_server: str
) -> None:
    bucket = create_bucket(s3_server)
    spool = tmp_path / "spool"
    (tmp_path / "a").mkdir()
    hung = ServerProcess(tmp_path / "a", config(hung_s3, bucket, spool), output=False)
    with hung as server:
        for ids in ([1, 2], [3]):
            status = server.request("POST", "/v1/logs", logs_body(ids), {"Content-Type": PROTOBUF})
            assert status[0] == 200
        started = time.monotonic()
        code = server.stop(signal.SIGTERM, timeout=DRAIN + 15)
        took = time.monotonic() - started
    assert code == 1 and took < DRAIN + 5, (code, took, server.log())
    assert "did not finish within server.drain_timeout_secs" in server.log()
    (tmp_path / "b").mkdir()
    with ServerProcess(tmp_path / "b", config(s3_server, bucket, spool), output=False) as again:
        deadline = time.monotonic() + 15
        while sum(landed(s3_server, bucket).values()) < 3:
            assert time.monotonic() < deadline, again.log()
            time.sleep(0.2)
    assert landed(s3_server, bucket) == {"rec-1": 1, "rec-2": 1, "rec-3": 1}
