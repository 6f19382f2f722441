"""Avro object container files, written and read in pure Python (the ``null`` and ``deflate``
codecs): what Iceberg manifests and manifest lists are made of.

Values are plain Python: records are dicts by field name, arrays lists, maps dicts, unions the
value of their branch (``None`` for ``null``). Reading decodes with the file's own (writer)
schema; named types may be referenced by name after their definition, as the format allows.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from otlp2parquet.engine.lite.thrift import varint
from otlp2parquet.engine.lite.thrift import zigzag as thrift_zigzag

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
_MASK64 = (1 << 64) - 1
_HEADER_SCHEMA = {"type": "map", "values": "bytes"}
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


class AvroError(ValueError):
    """A file or value that does not fit the Avro format or its schema."""


def zigzag(value: int) -> bytes:
    """An int or long: zig-zag, then base-128 varint (as Thrift's compact protocol)."""
    out = bytearray()
    varint(thrift_zigzag(value) & _MASK64, out)
    return bytes(out)


class _Names:
    """The named types (records, fixed, enums) of a schema, for references by name."""

    def __init__(self, schema: Any = None) -> None:
        self.types: dict[str, Any] = {}
        self.collect(schema)

    def collect(self, schema: Any) -> None:
        if isinstance(schema, list):
            for branch in schema:
                self.collect(branch)
        elif isinstance(schema, dict):
            if schema.get("type") in ("record", "fixed", "enum"):
                self.types.setdefault(schema["name"], schema)
            for field in schema.get("fields", ()):
                self.collect(field["type"])
            for key in ("type", "items", "values"):
                if isinstance(schema.get(key), dict | list):
                    self.collect(schema[key])

    def resolve(self, schema: Any) -> Any:
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            try:
                return self.types[schema]
            except KeyError:
                raise AvroError(f"unknown Avro type {schema!r}") from None
        return schema


def _type_of(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"]) if isinstance(schema["type"], str) else "wrapped"
    return str(schema)


class Encoder:
    """Binary encoding of values by schema."""

    def __init__(self, schema: Any) -> None:
        self.names = _Names(schema)

    def write(self, out: bytearray, schema: Any, value: Any) -> None:
        schema = self.names.resolve(schema)
        kind = _type_of(schema)
        if kind == "wrapped":  # {"type": {...}} or {"type": "long", "logicalType": ...}
            self.write(out, schema["type"], value)
        elif kind == "null":
            if value is not None:
                raise AvroError(f"null expected, got {value!r}")
        elif kind == "boolean":
            out.append(1 if value else 0)
        elif kind in ("int", "long"):
            out += zigzag(int(value))
        elif kind == "float":
            out += struct.pack("<f", value)
        elif kind == "double":
            out += struct.pack("<d", value)
        elif kind in ("bytes", "string"):
            data = value.encode() if isinstance(value, str) else bytes(value)
            out += zigzag(len(data)) + data
        elif kind == "fixed":
            if len(value) != schema["size"]:
                raise AvroError(f"fixed {schema['name']} needs {schema['size']} bytes")
            out += bytes(value)
        elif kind == "enum":
            out += zigzag(schema["symbols"].index(value))
        elif kind == "record":
            for field in schema["fields"]:
                self.write(out, field["type"], value.get(field["name"], field.get("default")))
        elif kind == "array":
            if value:
                out += zigzag(len(value))
                for item in value:
                    self.write(out, schema["items"], item)
            out += zigzag(0)
        elif kind == "map":
            if value:
                out += zigzag(len(value))
                for key, item in value.items():
                    self.write(out, "string", key)
                    self.write(out, schema["values"], item)
            out += zigzag(0)
        elif kind == "union":
            index = self._branch(schema, value)
            out += zigzag(index)
            self.write(out, schema[index], value)
        else:
            raise AvroError(f"unsupported Avro type {kind!r}")

    def _branch(self, branches: list[Any], value: Any) -> int:
        for index, branch in enumerate(branches):
            kind = _type_of(self.names.resolve(branch))
            if (value is None) == (kind == "null"):
                return index
        raise AvroError(f"no union branch of {branches!r} takes {value!r}")


class Decoder:
    """Binary decoding of values by schema, from a buffer."""

    def __init__(self, data: bytes, schema: Any = None) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.names = _Names(schema)

    def long(self) -> int:
        shift = n = 0
        while True:
            if self.pos >= len(self.data):
                raise AvroError("truncated Avro data")
            byte = self.data[self.pos]
            self.pos += 1
            n |= (byte & 0x7F) << shift
            if byte < 0x80:
                return (n >> 1) ^ -(n & 1)
            shift += 7

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise AvroError("truncated Avro data")
        chunk = bytes(self.data[self.pos : self.pos + size])
        self.pos += size
        return chunk

    def read(self, schema: Any) -> Any:
        schema = self.names.resolve(schema)
        kind = _type_of(schema)
        if kind == "wrapped":
            return self.read(schema["type"])
        if kind == "null":
            return None
        if kind == "boolean":
            return self.take(1) != b"\x00"
        if kind in ("int", "long"):
            return self.long()
        if kind == "float":
            return struct.unpack("<f", self.take(4))[0]
        if kind == "double":
            return struct.unpack("<d", self.take(8))[0]
        if kind == "bytes":
            return self.take(self.long())
        if kind == "string":
            return self.take(self.long()).decode()
        if kind == "fixed":
            return self.take(schema["size"])
        if kind == "enum":
            return schema["symbols"][self.long()]
        if kind == "record":
            return {f["name"]: self.read(f["type"]) for f in schema["fields"]}
        if kind == "array":
            return [self.read(schema["items"]) for _ in self._blocks()]
        if kind == "map":
            return {self.read("string"): self.read(schema["values"]) for _ in self._blocks()}
        if kind == "union":
            index = self.long()
            if not 0 <= index < len(schema):
                raise AvroError(f"union branch {index} out of range")
            return self.read(schema[index])
        raise AvroError(f"unsupported Avro type {kind!r}")

    def _blocks(self) -> Iterator[None]:
        while True:
            count = self.long()
            if count == 0:
                return
            if count < 0:  # a negative count is followed by the block's size in bytes
                count = -count
                self.long()
            for _ in range(count):
                yield None


def write_container(
    schema: Mapping[str, Any],
    records: Iterable[Mapping[str, Any]],
    metadata: Mapping[str, str] | None = None,
    codec: str = "deflate",
) -> bytes:
    """An object container file holding ``records`` in one block."""
    if codec not in ("null", "deflate"):
        raise AvroError(f"Avro codec {codec!r} is not supported (null, deflate)")
    header = {k: v.encode() for k, v in (metadata or {}).items()}
    header["avro.schema"] = json.dumps(schema, separators=(",", ":")).encode()
    header["avro.codec"] = codec.encode()
    sync = os.urandom(SYNC_SIZE)
    out = bytearray(MAGIC)
    Encoder(_HEADER_SCHEMA).write(out, _HEADER_SCHEMA, header)
    out += sync
    encoder, body, count = Encoder(schema), bytearray(), 0
    for record in records:
        encoder.write(body, schema, record)
        count += 1
    if count:
        block = bytes(body)
        if codec == "deflate":
            packer = zlib.compressobj(wbits=-15)
            block = packer.compress(block) + packer.flush()
        out += zigzag(count) + zigzag(len(block)) + block + sync
    return bytes(out)


def read_container(data: bytes) -> tuple[dict[str, Any], dict[str, str], list[Any]]:
    """``(writer schema, metadata, records)`` of an object container file."""
    if not data.startswith(MAGIC):
        raise AvroError("not an Avro object container file (bad magic)")
    head = Decoder(data)
    head.pos = len(MAGIC)
    raw = head.read(_HEADER_SCHEMA)
    sync = head.take(SYNC_SIZE)
    metadata = {k: v.decode() for k, v in raw.items()}
    try:
        schema = json.loads(metadata["avro.schema"])
    except (KeyError, ValueError) as exc:
        raise AvroError(f"Avro header has no readable schema: {exc}") from None
    codec = metadata.get("avro.codec", "null")
    if codec not in ("null", "deflate"):
        raise AvroError(f"Avro codec {codec!r} is not supported (null, deflate)")
    records: list[Any] = []
    while head.pos < len(data):
        count, size = head.long(), head.long()
        block = head.take(size)
        if codec == "deflate":
            block = zlib.decompress(block, wbits=-15)
        reader = Decoder(block, schema)
        records.extend(reader.read(schema) for _ in range(count))
        if head.take(SYNC_SIZE) != sync:
            raise AvroError("Avro block ends without the file's sync marker")
    return schema, metadata, records


def field_ids(schema: Mapping[str, Any]) -> dict[int, str]:
    """``field-id`` → field name of a record schema (Iceberg's Avro files carry them)."""
    return {int(f["field-id"]): f["name"] for f in schema["fields"] if "field-id" in f}


__all__ = [
    "AvroError",
    "Decoder",
    "Encoder",
    "field_ids",
    "read_container",
    "write_container",
    "zigzag",
]
