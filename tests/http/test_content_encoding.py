"""Every Content-Encoding the Collector's confighttp server accepts, against a real server: the
records land in Parquet with their values; a decompression bomb is a 413 with bounded memory; a
corrupt or truncated stream is a 400 naming the encoding; an unknown encoding is a 415 listing
the supported ones."""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterator

import pytest
from google.rpc import status_pb2

from support.compression_support import COMPRESSORS, SNAPPY_STREAM_ID, raw_deflate, snappy_framed
from support.otlp_server import ServerProcess, rows
from support.spool_support import PROTOBUF, logs_body

LIMIT = 1024 * 1024
CONFIG = f"""
[request]
max_payload_bytes = {LIMIT}
[batch]
max_age_secs = 0.2
"""
PAGE = os.sysconf("SC_PAGE_SIZE")
SUPPORTED = "supported: gzip, deflate, zlib, zstd, snappy, x-snappy-framed, lz4, identity"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("encodings"), CONFIG) as proc:
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log()


def post(server: ServerProcess, body: bytes, encoding: str) -> tuple[int, str]:
    headers = {"Content-Type": PROTOBUF, "Content-Encoding": encoding}
    status, _, data = server.request("POST", "/v1/logs", body, headers)
    return status, status_pb2.Status.FromString(data).message if status != 200 else ""


def rss(server: ServerProcess) -> int:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def landed(server: ServerProcess, service: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 15
    while True:
        found = [r for r in rows(server.data, "logs") if r["ServiceName"] == service]
        if len(found) >= count or time.monotonic() > deadline:
            return sorted(found, key=lambda r: str(r["Body"]))
        time.sleep(0.1)


CASES = [
    *COMPRESSORS.items(),
    ("deflate-raw", raw_deflate),  # sent as "deflate" without the zlib wrapper
    ("snappy-framed", snappy_framed),  # sent as "snappy": framing detected by its identifier
    ("x-snappy-framed-uncompressed", lambda data: snappy_framed(data, compress=False)),
]


@pytest.mark.parametrize(("case", "compress"), CASES, ids=[c for c, _ in CASES])
def test_each_encoding_lands_its_records(server: ServerProcess, case: str, compress) -> None:
    encoding = {"deflate-raw": "deflate", "snappy-framed": "snappy"}.get(case, case)
    encoding = encoding.removesuffix("-uncompressed")
    service = f"enc-{case}"
    ids = list(range(1, 2001))  # over 64 KiB uncompressed: several snappy frames
    body = logs_body(ids, service=service)
    assert len(body) > 65536
    assert post(server, compress(body), encoding) == (200, "")
    found = landed(server, service, len(ids))
    assert len(found) == len(ids)
    assert {r["Body"] for r in found} == {f"rec-{i}" for i in ids}
    assert {dict(r["LogAttributes"])["id"] for r in found} == {str(i) for i in ids}


def test_gzip_members_back_to_back_are_one_body(server: ServerProcess) -> None:
    import gzip

    body = gzip.compress(logs_body([1], service="enc-members"))
    body += gzip.compress(logs_body([2], service="enc-members"))
    assert post(server, body, "gzip") == (200, "")  # protobuf: concatenated requests merge
    assert [r["Body"] for r in landed(server, "enc-members", 2)] == ["rec-1", "rec-2"]


BOMB_MIB = {"snappy": 16, "x-snappy-framed": 16}  # snappy's ratio is about 21:1


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
def test_a_bomb_is_413_with_bounded_memory(server: ServerProcess, encoding: str) -> None:
    body = COMPRESSORS[encoding](bytes(BOMB_MIB.get(encoding, 64) << 20))
    assert len(body) < LIMIT  # so it is the inflated size that is refused
    before = rss(server)
    started = time.monotonic()
    status, message = post(server, body, encoding)
    assert (status, "after decompression" in message) == (413, True), message
    assert time.monotonic() - started < 5
    assert rss(server) - before < 32 << 20


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
def test_a_truncated_stream_is_400(server: ServerProcess, encoding: str) -> None:
    body = COMPRESSORS[encoding](logs_body(range(300), service="enc-truncated"))
    status, message = post(server, body[: len(body) // 2], encoding)
    assert status == 400, message
    assert f"{encoding} body is truncated" in message or f"not valid {encoding}" in message


GARBAGE = {
    "gzip": b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 40,
    "deflate": b"\x78\x9c" + b"\xff" * 40,
    "zlib": b"\x78\x9c" + b"\xff" * 40,
    "zstd": b"\x28\xb5\x2f\xfd" + b"\xff" * 40,
    "lz4": b"\x04\x22\x4d\x18" + b"\xff" * 40,
    "snappy": b"\x64" + b"\xff" * 40,  # declares 100 bytes, then no valid tag sequence
}


@pytest.mark.parametrize("encoding", list(GARBAGE))
def test_a_corrupt_stream_is_400(server: ServerProcess, encoding: str) -> None:
    status, message = post(server, GARBAGE[encoding], encoding)
    assert (status, f"not valid {encoding} data" in message) == (400, True), message


def test_a_wrong_snappy_checksum_is_400(server: ServerProcess) -> None:
    body = bytearray(snappy_framed(logs_body([1], service="enc-crc")))
    body[len(SNAPPY_STREAM_ID) + 4] ^= 0xFF  # first byte of the first chunk's checksum
    status, message = post(server, bytes(body), "x-snappy-framed")
    assert (status, "checksum mismatch" in message) == (400, True), message


def test_framed_snappy_without_stream_identifier_is_400(server: ServerProcess) -> None:
    body = COMPRESSORS["snappy"](logs_body([1]))
    status, message = post(server, body, "x-snappy-framed")
    assert (status, "no stream identifier" in message) == (400, True), message


@pytest.mark.parametrize("encoding", ["br", "compress", "gzip, zstd"])
def test_an_unknown_encoding_is_415_listing_the_supported(
    server: ServerProcess, encoding: str
) -> None:
    status, message = post(server, zlib.compress(logs_body([1])), encoding)
    assert status == 415, message
    assert f"unsupported Content-Encoding {encoding!r}" in message and SUPPORTED in message


def test_json_bodies_decompress_too(server: ServerProcess) -> None:
    request = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "enc-json"}}]
                },
                "scopeLogs": [{"logRecords": [{"body": {"stringValue": "zstd json"}}]}],
            }
        ]
    }
    headers = {"Content-Type": "application/json", "Content-Encoding": "zstd"}
    body = COMPRESSORS["zstd"](json.dumps(request).encode())
    assert server.request("POST", "/v1/logs", body, headers)[0] == 200
    assert [r["Body"] for r in landed(server, "enc-json", 1)] == ["zstd json"]


def test_the_python_crc32c_matches_google_crc32c() -> None:
    """The fallback used where google-crc32c is missing computes the same checksums."""
    import google_crc32c

    from otlp2parquet.codecs import python_crc32c

    assert python_crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    for data in (b"", bytes(range(256)) * 3, logs_body([1, 2, 3])):
        assert python_crc32c(data) == google_crc32c.value(data)
