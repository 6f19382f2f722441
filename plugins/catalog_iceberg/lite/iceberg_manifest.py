"""Iceberg v2 manifests and manifest lists for an append, without pyiceberg or pyarrow.

A manifest lists the new data files (path, size, rows, partition values and bounds of the
partition source columns); the manifest list carries the table's existing manifests forward and
adds the new one. Both are Avro files with the field ids of the Iceberg table spec.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from otlp2parquet.errors import CatalogError

from . import avro

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
STATUS_ADDED = 1


def _optional(name: str, avro_type: Any, field_id: int) -> dict[str, Any]:
    return {"name": name, "type": ["null", avro_type], "default": None, "field-id": field_id}


def _required(name: str, avro_type: Any, field_id: int) -> dict[str, Any]:
    return {"name": name, "type": avro_type, "field-id": field_id}


def _int_map(name: str, field_id: int, key_id: int, value: str) -> dict[str, Any]:
    """Iceberg's map<int, T> in Avro: an array of key/value records."""
    pair = {
        "type": "record",
        "name": f"k{key_id}_v{key_id + 1}",
        "fields": [_required("key", "int", key_id), _required("value", value, key_id + 1)],
    }
    return _optional(name, {"type": "array", "items": pair, "logicalType": "map"}, field_id)


def manifest_entry_schema(partition_fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The Avro schema of a v2 manifest entry, with the table's partition record."""
    partition = {"type": "record", "name": "r102", "fields": partition_fields}
    data_file = {
        "type": "record",
        "name": "r2",
        "fields": [
            _required("content", "int", 134),
            _required("file_path", "string", 100),
            _required("file_format", "string", 101),
            _required("partition", partition, 102),
            _required("record_count", "long", 103),
            _required("file_size_in_bytes", "long", 104),
            _int_map("column_sizes", 108, 117, "long"),
            _int_map("value_counts", 109, 119, "long"),
            _int_map("null_value_counts", 110, 121, "long"),
            _int_map("nan_value_counts", 137, 138, "long"),
            _int_map("lower_bounds", 125, 126, "bytes"),
            _int_map("upper_bounds", 128, 129, "bytes"),
            _optional("key_metadata", "bytes", 131),
            _optional("split_offsets", {"type": "array", "items": "long", "element-id": 133}, 132),
            _optional("equality_ids", {"type": "array", "items": "int", "element-id": 136}, 135),
            _optional("sort_order_id", "int", 140),
        ],
    }
    return {
        "type": "record",
        "name": "manifest_entry",
        "fields": [
            _required("status", "int", 0),
            _optional("snapshot_id", "long", 1),
            _optional("sequence_number", "long", 3),
            _optional("file_sequence_number", "long", 4),
            _required("data_file", data_file, 2),
        ],
    }


_FIELD_SUMMARY = {
    "type": "record",
    "name": "r508",
    "fields": [
        _required("contains_null", "boolean", 509),
        _optional("contains_nan", "boolean", 518),
        _optional("lower_bound", "bytes", 510),
        _optional("upper_bound", "bytes", 511),
    ],
}
MANIFEST_FILE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "manifest_file",
    "fields": [
        _required("manifest_path", "string", 500),
        _required("manifest_length", "long", 501),
        _required("partition_spec_id", "int", 502),
        _required("content", "int", 517),
        _required("sequence_number", "long", 515),
        _required("min_sequence_number", "long", 516),
        _required("added_snapshot_id", "long", 503),
        _required("added_files_count", "int", 504),
        _required("existing_files_count", "int", 505),
        _required("deleted_files_count", "int", 506),
        _required("added_rows_count", "long", 512),
        _required("existing_rows_count", "long", 513),
        _required("deleted_rows_count", "long", 514),
        _optional("partitions", {"type": "array", "items": _FIELD_SUMMARY, "element-id": 508}, 507),
        _optional("key_metadata", "bytes", 519),
    ],
}
#: Format v1 manifest lists lack these; their v2 reading is 0 (data, sequence number 0).
_V1_DEFAULTS = {517: 0, 515: 0, 516: 0}


@dataclass(frozen=True)
class PartitionField:
    """One field of the table's default partition spec, bound to its source column."""

    field_id: int
    name: str
    transform: str  # identity | hour | day | month | year
    source: str  # source column name
    source_type: Any

    @property
    def avro_type(self) -> Any:
        if self.transform == "identity":
            return _AVRO_SCALARS[self.source_type]
        if self.transform == "day":
            return {"type": "int", "logicalType": "date"}
        return "int"


_AVRO_SCALARS = {
    "string": "string",
    "int": "int",
    "long": "long",
    "boolean": "boolean",
    "double": "double",
    "timestamptz": {"type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": True},
}


@dataclass(frozen=True)
class TableLayout:
    """What writing manifests for a table needs from its metadata."""

    schema: dict[str, Any]
    spec_id: int
    spec_fields: list[dict[str, Any]]
    partition: list[PartitionField]
    ids: dict[str, int]
    types: dict[str, Any]

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], table: str) -> TableLayout:
        """The current schema and default spec; CatalogError for what this writer cannot do."""
        if int(metadata.get("format-version", 1)) != 2:
            raise CatalogError(
                f"Iceberg table {table} is format v{metadata.get('format-version')}; the Worker's "
                "committer writes format v2 manifests only"
            )
        schema_id = metadata.get("current-schema-id", 0)
        schema = next(s for s in metadata["schemas"] if s.get("schema-id", 0) == schema_id)
        spec_id = int(metadata.get("default-spec-id", 0))
        spec = next(s for s in metadata["partition-specs"] if s.get("spec-id", 0) == spec_id)
        ids = {f["name"]: int(f["id"]) for f in schema["fields"]}
        types = {f["name"]: f["type"] for f in schema["fields"]}
        names = {v: k for k, v in ids.items()}
        partition = []
        for field in spec["fields"]:
            source = names.get(int(field["source-id"]), "")
            transform = str(field["transform"])
            if transform not in ("identity", "hour", "day", "month", "year") or (
                transform == "identity" and types.get(source) not in _AVRO_SCALARS
            ):
                raise CatalogError(
                    f"Iceberg table {table}: partition field {field['name']!r} "
                    f"({transform} of {source or field['source-id']}) is not supported by the "
                    "Worker's committer (identity, hour, day, month and year are)"
                )
            partition.append(
                PartitionField(
                    int(field["field-id"]), str(field["name"]), transform, source, types[source]
                )
            )
        return cls(schema, spec_id, list(spec["fields"]), partition, ids, types)


@dataclass(frozen=True)
class DataFile:
    """One Parquet file to add, with the values of its partition source columns."""

    path: str
    rows: int
    size: int
    service_column: str
    service: str
    time_column: str
    min_ts_us: int
    max_ts_us: int


def _time_value(transform: str, us: int) -> int:
    if transform == "hour":
        return us // HOUR_US
    if transform == "day":
        return us // DAY_US
    when = datetime.fromtimestamp(us / 1e6, UTC)
    if transform == "month":
        return (when.year - 1970) * 12 + when.month - 1
    return when.year - 1970


def partition_values(layout: TableLayout, file: DataFile) -> dict[str, Any]:
    """The file's partition tuple; CatalogError when the file spans partitions or the spec
    partitions by a column otlp2parquet does not know per file."""
    values: dict[str, Any] = {}
    for field in layout.partition:
        if field.source == file.service_column and field.transform == "identity":
            values[field.name] = file.service
        elif field.source == file.time_column and field.transform != "identity":
            low = _time_value(field.transform, file.min_ts_us)
            if _time_value(field.transform, file.max_ts_us) != low:
                raise CatalogError(
                    f"{file.path} spans more than one {field.transform} of {file.time_column}; "
                    f"the table is partitioned by {field.name}"
                )
            values[field.name] = low
        else:
            raise CatalogError(
                f"partition field {field.name!r} ({field.transform} of {field.source}) cannot be "
                f"derived for {file.path}: the Worker knows the service and time of each file only"
            )
    return values


def single_value(iceberg_type: Any, value: Any) -> bytes:
    """Iceberg's binary single-value serialization (bounds)."""
    if iceberg_type == "string":
        return str(value).encode()
    if iceberg_type in ("int", "date"):
        return struct.pack("<i", value)
    if iceberg_type in ("long", "timestamptz", "timestamp"):
        return struct.pack("<q", value)
    if iceberg_type == "boolean":
        return b"\x01" if value else b"\x00"
    if iceberg_type == "double":
        return struct.pack("<d", value)
    raise CatalogError(f"no bound serialization for Iceberg type {iceberg_type!r}")


def _bounds(layout: TableLayout, file: DataFile) -> tuple[list[Any], list[Any]]:
    lower, upper = [], []
    for column, low, high in (
        (file.time_column, file.min_ts_us, file.max_ts_us),
        (file.service_column, file.service, file.service),
    ):
        if column in layout.ids:
            kind = layout.types[column]
            lower.append({"key": layout.ids[column], "value": single_value(kind, low)})
            upper.append({"key": layout.ids[column], "value": single_value(kind, high)})
    return lower, upper


def manifest(
    layout: TableLayout, files: Sequence[DataFile], snapshot_id: int
) -> tuple[bytes, list[dict[str, Any]]]:
    """``(manifest file bytes, partition field summaries)`` for ``files`` added by
    ``snapshot_id``."""
    fields = [
        _optional(f.name, f.avro_type, f.field_id) for f in layout.partition
    ]  # partition values are optional in the spec's Avro form
    entries = []
    tuples = []
    for file in files:
        values = partition_values(layout, file)
        tuples.append(values)
        lower, upper = _bounds(layout, file)
        entries.append(
            {
                "status": STATUS_ADDED,
                "snapshot_id": snapshot_id,
                "sequence_number": None,  # inherited from the manifest list
                "file_sequence_number": None,
                "data_file": {
                    "content": 0,
                    "file_path": file.path,
                    "file_format": "PARQUET",
                    "partition": values,
                    "record_count": file.rows,
                    "file_size_in_bytes": file.size,
                    "lower_bounds": lower,
                    "upper_bounds": upper,
                },
            }
        )
    metadata = {
        "schema": json.dumps(layout.schema, separators=(",", ":")),
        "schema-id": str(layout.schema.get("schema-id", 0)),
        "partition-spec": json.dumps(layout.spec_fields, separators=(",", ":")),
        "partition-spec-id": str(layout.spec_id),
        "format-version": "2",
        "content": "data",
    }
    data = avro.write_container(manifest_entry_schema(fields), entries, metadata)
    return data, _summaries(layout, tuples)


def _summaries(layout: TableLayout, tuples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for field in layout.partition:
        values = [t[field.name] for t in tuples]
        kind = field.source_type if field.transform == "identity" else "int"
        out.append(
            {
                "contains_null": False,
                "contains_nan": None,
                "lower_bound": single_value(kind, min(values)) if values else None,
                "upper_bound": single_value(kind, max(values)) if values else None,
            }
        )
    return out


def manifest_list(
    entries: Sequence[Mapping[str, Any]], snapshot_id: int, parent_id: int | None, sequence: int
) -> bytes:
    """A manifest list file of ``entries`` (``manifest_file`` records)."""
    metadata = {
        "snapshot-id": str(snapshot_id),
        "parent-snapshot-id": "null" if parent_id is None else str(parent_id),
        "sequence-number": str(sequence),
        "format-version": "2",
    }
    return avro.write_container(MANIFEST_FILE_SCHEMA, entries, metadata)


def read_manifest_list(data: bytes) -> list[dict[str, Any]]:
    """The ``manifest_file`` records of a manifest list (v1 or v2), in this module's v2 form,
    matched by field id so other writers' field names do not matter."""
    try:
        schema, _, records = avro.read_container(data)
    except (avro.AvroError, ValueError, KeyError) as exc:
        raise CatalogError(f"cannot read the table's manifest list: {exc}") from exc
    return [_project(MANIFEST_FILE_SCHEMA, schema, record) for record in records]


def _project(target: Mapping[str, Any], source: Mapping[str, Any], record: Any) -> Any:
    names = avro.field_ids(source)
    out: dict[str, Any] = {}
    for field in target["fields"]:
        fid = int(field["field-id"])
        value: Any = record.get(names[fid]) if fid in names else _V1_DEFAULTS.get(fid)
        if fid == 507 and value is not None:  # partition summaries: nested records by id
            source_item = _items(next(f for f in source["fields"] if f["field-id"] == fid))
            value = [_project(_FIELD_SUMMARY, source_item, v) for v in value]
        if value is None and not isinstance(field["type"], list):
            raise CatalogError(f"manifest list entry lacks required field {field['name']}")
        out[field["name"]] = value
    return out


def _items(field: Mapping[str, Any]) -> Mapping[str, Any]:
    array = (
        next(b for b in field["type"] if b != "null")
        if isinstance(field["type"], list)
        else (field["type"])
    )
    return array["items"]
