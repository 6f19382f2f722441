"""The on-disk format of spool segments: a header, then length-prefixed, checksummed records.

One segment file, ``{number:020d}.seg``::

    b"O2PSPL1\\n"                                  header, 8 bytes
    length u32 | crc32 u32 | kind u8 | payload     one record (length = 1 + len(payload);
    ...                                            the CRC covers kind and payload)

Record kinds:

- ``DATA``: one accepted request: its source id (128 bits), signal, media type and the
  decompressed body, exactly as the decoder saw it.
- ``INTENT``: a Parquet file about to be written: its token, object key, partition and the
  source ids whose rows it holds. Written before the upload, so a replay after a crash rebuilds
  exactly that file under exactly that key instead of regrouping its rows.
- ``DONE``: that file is written and handed to the catalog.

Reading stops at the first record that is truncated or fails its checksum; everything before it
is returned, with a description of the damage.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"O2PSPL1\n"
SUFFIX = ".seg"
DATA, INTENT, DONE = 1, 2, 3
_FRAME = struct.Struct(">II")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
#: Larger lengths can only be damage (a request body is at most request.max_payload_bytes).
MAX_RECORD_BYTES = 1 << 31

PartitionKey = tuple[str, str, int]


@dataclass(frozen=True)
class DataRecord:
    sid: int
    signal: str
    media_type: str
    body: bytes


@dataclass(frozen=True)
class IntentRecord:
    token: str
    key: str
    pkey: PartitionKey
    sources: tuple[int, ...]


@dataclass(frozen=True)
class DoneRecord:
    token: str


Record = DataRecord | IntentRecord | DoneRecord


@dataclass
class SegmentScan:
    """What one segment file holds, up to the first damaged record."""

    number: int
    path: Path
    size: int
    records: list[Record] = field(default_factory=list)
    good_bytes: int = 0
    problem: str = ""  # empty when the whole file was read


def segment_name(number: int) -> str:
    return f"{number:020d}{SUFFIX}"


def segment_number(path: Path) -> int | None:
    stem = path.name.removesuffix(SUFFIX)
    return int(stem) if path.name.endswith(SUFFIX) and stem.isdigit() else None


# -- encoding --------------------------------------------------------------------------------
def frame(kind: int, payload: bytes) -> bytes:
    body = bytes((kind,)) + payload
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


def _text(value: str) -> bytes:
    raw = value.encode("utf-8", "surrogatepass")
    return _U32.pack(len(raw)) + raw


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_data(record: DataRecord) -> bytes:
    head = record.sid.to_bytes(16, "big") + _text(record.signal) + _text(record.media_type)
    return frame(DATA, head + record.body)


def encode_intent(record: IntentRecord) -> bytes:
    table, service, bucket = record.pkey
    parts = [bytes.fromhex(record.token), _text(record.key), _text(table), _text(service)]
    parts += [_I64.pack(bucket), _U32.pack(len(record.sources))]
    previous = 0
    for sid in sorted(record.sources):  # ascending deltas: about two bytes per source
        parts.append(_varint(sid - previous))
        previous = sid
    return frame(INTENT, b"".join(parts))


def encode_done(record: DoneRecord) -> bytes:
    return frame(DONE, bytes.fromhex(record.token))


def encode(record: Record) -> bytes:
    if isinstance(record, DataRecord):
        return encode_data(record)
    if isinstance(record, IntentRecord):
        return encode_intent(record)
    return encode_done(record)


# -- decoding --------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ValueError("field runs past the end of its record")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def text(self) -> str:
        (size,) = _U32.unpack(self.take(4))
        return self.take(size).decode("utf-8", "surrogatepass")

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)


def decode(kind: int, payload: bytes) -> Record:
    """One record's payload; raises ValueError for an unknown kind or a malformed payload."""
    reader = _Reader(payload)
    if kind == DATA:
        sid = int.from_bytes(reader.take(16), "big")
        return DataRecord(sid, reader.text(), reader.text(), reader.rest())
    if kind == INTENT:
        token = reader.take(16).hex()
        key, table, service = reader.text(), reader.text(), reader.text()
        (bucket,) = _I64.unpack(reader.take(8))
        (count,) = _U32.unpack(reader.take(4))
        sources, previous = [], 0
        for _ in range(count):
            previous += reader.varint()
            sources.append(previous)
        return IntentRecord(token, key, (table, service, bucket), tuple(sources))
    if kind == DONE:
        return DoneRecord(reader.take(16).hex())
    raise ValueError(f"unknown record kind {kind}")


def iter_records(data: bytes, scan: SegmentScan) -> Iterator[Record]:
    """Records of a segment's bytes; stops at the first damaged one and notes it in ``scan``."""
    if not data.startswith(MAGIC):
        scan.problem = "missing or damaged segment header" if data else "empty segment file"
        return
    pos = len(MAGIC)
    while pos < len(data):
        if pos + _FRAME.size > len(data):
            scan.problem = f"truncated record header at byte {pos}"
            return
        length, crc = _FRAME.unpack_from(data, pos)
        start, end = pos + _FRAME.size, pos + _FRAME.size + length
        if length < 1 or length > MAX_RECORD_BYTES:
            scan.problem = f"impossible record length {length} at byte {pos}"
            return
        if end > len(data):
            scan.problem = f"truncated record at byte {pos} ({length} bytes announced)"
            return
        body = data[start:end]
        if zlib.crc32(body) != crc:
            scan.problem = f"checksum mismatch in the record at byte {pos}"
            return
        try:
            record = decode(body[0], body[1:])
        except (ValueError, UnicodeDecodeError, struct.error) as exc:
            scan.problem = f"malformed record at byte {pos}: {exc}"
            return
        pos = end
        scan.good_bytes = pos
        yield record


def read_segment(path: Path, number: int) -> SegmentScan:
    """Every intact record of one segment file, in order."""
    data = path.read_bytes()
    scan = SegmentScan(number, path, len(data), good_bytes=min(len(data), len(MAGIC)))
    scan.records = list(iter_records(data, scan))
    return scan
