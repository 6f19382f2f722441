"""Pending receipts over any put/get/list/delete store: the storage backend, or a KV store."""

from __future__ import annotations

from pathlib import Path

import pytest

from otlp2parquet.durability import receipts as rc
from otlp2parquet.plugins.storage_fsspec import make_fs


class KV:
    """A Workers-KV-like store: flat keys, ``list`` by prefix."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.data[key] = data

    def get(self, key: str) -> bytes:
        return self.data[key]

    def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))

    def delete(self, key: str) -> None:
        del self.data[key]


def pending(n: int) -> rc.PendingFile:
    return rc.PendingFile(url=f"s3://b/logs/{n}.parquet", key=f"logs/{n}.parquet", rows=n)


def test_roundtrip_and_key_order() -> None:
    receipt = rc.Receipt("logs", (pending(1), pending(2)), created_ms=1_700_000_000_000)
    assert rc.decode(rc.encode(receipt), "k") == receipt
    assert rc.new_key("_pending/", 5, "ab") == "_pending/0000000000005-ab.json"
    assert rc.new_key("pending:", 5, "ab", sep=":") == "pending:0000000000005:ab.json"
    with pytest.raises(ValueError, match="receipt k is malformed"):
        rc.decode(b'{"files": []}', "k")


@pytest.mark.parametrize("kind", ["kv", "storage"])
def test_lifecycle_on_kv_and_storage(kind: str, tmp_path: Path) -> None:
    store = KV() if kind == "kv" else make_fs({"path": str(tmp_path)})
    prefix = "pending:" if kind == "kv" else "_pending/"
    first = rc.create(store, "logs", [pending(1)], prefix, now_ms=1000)
    second = rc.create(store, "traces", [pending(2), pending(1)], prefix, now_ms=2000)
    store.put(f"{prefix}0000000000003-bad.json", b"not json")
    found, unreadable = rc.load_all(store, prefix)
    assert [r.table for r in found] == ["logs", "traces"]
    assert [k for k, _ in unreadable] == [f"{prefix}0000000000003-bad.json"]
    assert [f.url for f in rc.unique_files(found)] == [pending(1).url, pending(2).url]
    failed = rc.record_failure(store, first, "catalog down", now_ms=5000)
    assert (failed.attempts, failed.last_error, failed.last_attempt_ms) == (1, "catalog down", 5000)
    assert rc.load_all(store, prefix)[0][0].last_error == "catalog down"
    assert rc.remove(store, [first, second]) == []
    assert rc.load_all(store, prefix)[0] == []
    assert rc.remove(store, [first]) == []  # already gone elsewhere: not an error
    assert second.age_secs(now_ms=4000) == 2.0


def test_pending_file_from_written(tmp_path: Path) -> None:
    from otlp2parquet.types import Partition, WrittenFile

    written = WrittenFile("k", "file:///k", "logs", 3, 10, Partition("logs", "svc", 7), 8, 9)
    assert rc.PendingFile.from_written(written) == rc.PendingFile(
        url="file:///k",
        key="k",
        rows=3,
        bytes=10,
        service="svc",
        bucket_start_us=7,
        min_ts_us=8,
        max_ts_us=9,
    )
