"""Iceberg appends through the REST catalog protocol, without pyiceberg or pyarrow: what the
Cloudflare Worker's cron trigger uses to register files in R2 Data Catalog (or any Iceberg REST
catalog with a bearer token). The catalog calls themselves are in ``rest_catalog``.

One ``append`` per table: load the table (creating namespace and table on first use, adding
new schema columns as optional), skip files the current snapshot already references, write a
manifest and a manifest list next to the table's metadata, and commit ``add-snapshot`` +
``set-snapshot-ref`` with the requirement that the branch head has not moved. A conflict (409)
reloads and tries again. HTTP and object I/O are injected, so the same code runs in a Worker
(``fetch`` and the R2 binding) and under CPython.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from otlp2parquet.errors import CatalogError, StorageError
from otlp2parquet.schema import iceberg_json
from otlp2parquet.schema.iceberg_json import PROMOTIONS, renumbered, type_shape

from . import avro
from .iceberg_manifest import (
    HOUR_US,
    DataFile,
    TableLayout,
    manifest,
    manifest_list,
    read_manifest_list,
)
from .rest_catalog import (
    CommitConflict,
    RestCatalogClient,
    RestSettings,
)

log = logging.getLogger(__name__)

WRITER = "otlp2parquet-lite"


class ObjectIO(Protocol):
    """Reads and writes the table's metadata files by URL (``s3://bucket/key``)."""

    def put_object(self, url: str, data: bytes) -> None: ...

    def get_object(self, url: str) -> bytes: ...


class LiteIcebergCatalog:
    """A catalog component (``commit(files)``, ``close()``) over the REST committer."""

    def __init__(
        self,
        settings: RestSettings,
        client: RestCatalogClient,
        io: ObjectIO,
        schemas: Mapping[str, Any],
        data_url: Callable[[str], str] = lambda url: url,
        attempts: int = 6,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.io = io
        self.schemas = schemas
        self.data_url = data_url
        self.attempts = attempts
        self.sleep = sleep

    def close(self) -> None:
        """Nothing is held open between calls."""

    def commit(self, files: Sequence[Any]) -> None:
        """Register ``WrittenFile``s, one snapshot per table; CatalogError names what failed."""
        by_table: dict[str, list[Any]] = {}
        for written in files:
            by_table.setdefault(written.table, []).append(written)
        for table, group in by_table.items():
            self.append(table, group)
            for written in group:
                written.catalog = "committed"

    def append(self, schema_name: str, files: Sequence[Any]) -> int:
        """Add the files the table does not reference yet; returns how many were added."""
        schema = self.schemas[schema_name]
        name = self.settings.tables.get(schema_name) or schema.table
        data_files = [
            DataFile(
                path=self.data_url(f.url),
                rows=int(f.rows),
                size=int(f.bytes),
                service_column=schema.service_column,
                service=f.partition.service,
                time_column=schema.time_column,
                min_ts_us=int(f.min_ts_us),
                max_ts_us=int(f.max_ts_us),
            )
            for f in files
        ]
        for attempt in range(self.attempts):
            try:
                table = self._load(schema, name)
                return self._append_once(schema, name, table, data_files)
            except CommitConflict as exc:
                if attempt + 1 >= self.attempts:
                    raise CatalogError(
                        f"commit to {self.settings.namespace}.{name} still conflicted after "
                        f"{self.attempts} attempts: {exc}"
                    ) from exc
                log.debug("commit conflict on %s, reloading (%s)", name, exc)
                if self.sleep is not None:
                    self.sleep(min(0.05 * 2**attempt, 2.0))
        return 0  # pragma: no cover - the loop returns or raises

    def _load(self, schema: Any, name: str) -> dict[str, Any]:
        namespace = self.settings.namespace
        table = self.client.load_table(namespace, name)
        if table is None:
            ice = iceberg_json.schema_json(schema)
            ids = {f["name"]: f["id"] for f in ice["fields"]}
            table = self.client.create_table(
                namespace,
                {
                    "name": name,
                    "schema": ice,
                    "partition-spec": iceberg_json.partition_spec_json(schema, ids),
                    "properties": iceberg_json.table_properties(schema),
                },
            )
            log.info("created Iceberg table %s.%s", namespace, name)
        return self._evolved(schema, name, table)

    def _evolved(self, schema: Any, name: str, table: dict[str, Any]) -> dict[str, Any]:
        """Add the schema file's new columns to the table as optional ones, and keep the name
        mapping (our Parquet files carry no field ids) in step with the table's schema."""
        metadata = table["metadata"]
        current_id = metadata.get("current-schema-id", 0)
        current = next(s for s in metadata["schemas"] if s.get("schema-id", 0) == current_id)
        have = {f["name"]: f for f in current["fields"]}
        want = iceberg_json.schema_json(schema)["fields"]
        promoted: dict[str, Any] = {}  # column → the wider type of the schema file
        differ = []
        for column in want:
            if column["name"] not in have:
                continue
            old, new = type_shape(have[column["name"]]["type"]), type_shape(column["type"])
            if old == new:
                continue
            pair = (old, new) if isinstance(old, str) and isinstance(new, str) else None
            if pair in PROMOTIONS:
                promoted[column["name"]] = column["type"]
            elif pair is None or pair[::-1] not in PROMOTIONS:  # a wider table reads our files
                differ.append(column["name"])
        if differ:
            raise CatalogError(
                f"Iceberg table {self.settings.namespace}.{name}: column(s) "
                f"{', '.join(map(repr, differ))} have another type in the table than in "
                f"schemas/{schema.name}.toml; give a changed column a new name"
            )
        requirements: list[dict[str, Any]] = [
            {"type": "assert-current-schema-id", "current-schema-id": current_id}
        ]
        updates: list[dict[str, Any]] = []
        properties: dict[str, str] = {}
        added = [f for f in want if f["name"] not in have]
        target = current
        if added or promoted:
            last = int(metadata.get("last-column-id", 0))
            fields = [
                {**f, "type": promoted[f["name"]]} if f["name"] in promoted else f
                for f in current["fields"]
            ]
            for column in added:
                last, fresh = renumbered(column, last)
                fields.append({**fresh, "required": False})
            target = {
                "type": "struct",
                "schema-id": max(int(s.get("schema-id", 0)) for s in metadata["schemas"]) + 1,
                "fields": fields,
            }
            requirements.append(
                {
                    "type": "assert-last-assigned-field-id",
                    "last-assigned-field-id": metadata.get("last-column-id", 0),
                }
            )
            updates.append({"action": "add-schema", "schema": target, "last-column-id": last})
            updates.append({"action": "set-current-schema", "schema-id": -1})
            properties[iceberg_json.PROP_SCHEMA_VERSION] = str(schema.version)
        mapping = iceberg_json.name_mapping(target)
        stored = (metadata.get("properties") or {}).get(iceberg_json.NAME_MAPPING)
        if _parsed(stored) != mapping:
            properties[iceberg_json.NAME_MAPPING] = json.dumps(mapping, separators=(",", ":"))
        if properties:
            updates.append({"action": "set-properties", "updates": properties})
        if not updates:
            return table
        result = self.client.commit(
            self.settings.namespace, name, {"requirements": requirements, "updates": updates}
        )
        if added or promoted:
            log.info(
                "evolved %s: added %s, promoted %s",
                name,
                ", ".join(f["name"] for f in added) or "none",
                ", ".join(promoted) or "none",
            )
        return result

    def _append_once(
        self, schema: Any, name: str, table: dict[str, Any], files: Sequence[DataFile]
    ) -> int:
        metadata = table["metadata"]
        layout = TableLayout.from_metadata(metadata, f"{self.settings.namespace}.{name}")
        parent = _current_snapshot(metadata)
        carried = read_manifest_list(self._get(parent["manifest-list"])) if parent else []
        present = self._registered(layout, carried, files)
        todo = [f for f in files if f.path not in present]
        if present:
            log.info("%d file(s) already registered in %s", len(present), name)
        if not todo:
            return 0
        snapshot_id = secrets.randbits(63) or 1
        sequence = int(metadata.get("last-sequence-number", 0)) + 1
        location = str(metadata["location"]).rstrip("/")
        tag = uuid.uuid4()
        manifest_data, summaries = manifest(layout, todo, snapshot_id)
        manifest_url = f"{location}/metadata/{tag}-m0.avro"
        self._put(manifest_url, manifest_data)
        new_entry = {
            "manifest_path": manifest_url,
            "manifest_length": len(manifest_data),
            "partition_spec_id": layout.spec_id,
            "content": 0,
            "sequence_number": sequence,
            "min_sequence_number": sequence,
            "added_snapshot_id": snapshot_id,
            "added_files_count": len(todo),
            "existing_files_count": 0,
            "deleted_files_count": 0,
            "added_rows_count": sum(f.rows for f in todo),
            "existing_rows_count": 0,
            "deleted_rows_count": 0,
            "partitions": summaries,
            "key_metadata": None,
        }
        parent_id = parent["snapshot-id"] if parent else None
        list_url = f"{location}/metadata/snap-{snapshot_id}-1-{tag}.avro"
        self._put(list_url, manifest_list([new_entry, *carried], snapshot_id, parent_id, sequence))
        snapshot = {
            "snapshot-id": snapshot_id,
            "sequence-number": sequence,
            "timestamp-ms": int(time.time() * 1000),
            "manifest-list": list_url,
            "summary": _summary(parent, todo),
            "schema-id": metadata.get("current-schema-id", 0),
        }
        if parent_id is not None:
            snapshot["parent-snapshot-id"] = parent_id
        self.client.commit(
            self.settings.namespace,
            name,
            {
                "requirements": [
                    {"type": "assert-table-uuid", "uuid": metadata["table-uuid"]},
                    {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent_id},
                ],
                "updates": [
                    {"action": "add-snapshot", "snapshot": snapshot},
                    {
                        "action": "set-snapshot-ref",
                        "ref-name": "main",
                        "type": "branch",
                        "snapshot-id": snapshot_id,
                    },
                ],
            },
        )
        log.info("registered %d file(s) in %s.%s", len(todo), self.settings.namespace, name)
        return len(todo)

    def _put(self, url: str, data: bytes) -> None:
        try:
            self.io.put_object(url, data)
        except StorageError as exc:
            raise CatalogError(f"cannot write the table's metadata file: {exc}") from exc

    def _get(self, url: str) -> bytes:
        try:
            return self.io.get_object(url)
        except StorageError as exc:
            raise CatalogError(f"cannot read the table's metadata file: {exc}") from exc

    def _registered(
        self, layout: TableLayout, carried: Sequence[Mapping[str, Any]], files: Sequence[DataFile]
    ) -> set[str]:
        """Paths among ``files`` that the current snapshot's manifests list (only manifests
        whose partition summaries can hold the files' hours are read)."""
        wanted = {f.path for f in files}
        hours = [
            i for i, p in enumerate(layout.partition) if p.transform == "hour"
        ]  # the hour field prunes manifests
        low = min(f.min_ts_us for f in files) // HOUR_US if files else 0
        high = max(f.max_ts_us for f in files) // HOUR_US if files else 0
        found: set[str] = set()
        for entry in carried:
            if entry["content"] != 0:
                continue
            parts = entry.get("partitions") or []
            if hours and entry["partition_spec_id"] == layout.spec_id and len(parts) > hours[0]:
                summary = parts[hours[0]]
                lo, hi = summary.get("lower_bound"), summary.get("upper_bound")
                outside = lo is not None and hi is not None and (_int(hi) < low or _int(lo) > high)
                if outside:
                    continue
            found |= _manifest_paths(self._get(entry["manifest_path"])) & wanted
        return found


def _manifest_paths(data: bytes) -> set[str]:
    try:
        _, _, entries = avro.read_container(data)
    except (avro.AvroError, ValueError) as exc:
        raise CatalogError(f"cannot read a manifest of the table: {exc}") from exc
    return {e["data_file"]["file_path"] for e in entries if e["status"] != 2}


def _int(value: bytes) -> int:
    return int.from_bytes(value[:4], "little", signed=True)


def _current_snapshot(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    main = (metadata.get("refs") or {}).get("main")
    snapshot_id = main["snapshot-id"] if main else metadata.get("current-snapshot-id")
    if snapshot_id in (None, -1):
        return None
    for snapshot in metadata.get("snapshots") or []:
        if snapshot["snapshot-id"] == snapshot_id:
            return dict(snapshot)
    raise CatalogError(f"table metadata lists no snapshot {snapshot_id}")


#: Snapshot summary totals and the added counts they grow by.
_TOTALS = {
    "total-data-files": "added-data-files",
    "total-records": "added-records",
    "total-files-size": "added-files-size",
}


def _summary(parent: Mapping[str, Any] | None, files: Sequence[DataFile]) -> dict[str, str]:
    added = {
        "added-data-files": len(files),
        "added-records": sum(f.rows for f in files),
        "added-files-size": sum(f.size for f in files),
    }
    summary = {"operation": "append", **{k: str(v) for k, v in added.items()}}
    summary["otlp2parquet.writer"] = WRITER
    summary["otlp2parquet.files"] = str(len(files))
    before = (parent or {}).get("summary") or {}
    if parent is None or all(k in before for k in _TOTALS):
        for total, key in _TOTALS.items():
            summary[total] = str(int(before.get(total, 0)) + added[key])
    return summary


def _parsed(text: str | None) -> Any:
    """A JSON property's value; None when it is missing or not JSON."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
