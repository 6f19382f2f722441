"""Iceberg tables for our schemas: created on first use, evolved by name, appended idempotently.

``append_files`` is the heart of "never register a file twice": before each attempt it reloads
the table, asks the current snapshot which of the files it already references, and adds only
the rest. The commit asserts that the table's head has not moved since that check, so with
pyiceberg's own re-append-on-conflict retry switched off for this transaction (it would re-add
the same files on top of a concurrent writer's identical commit), a conflict just restarts the
loop: reload, check, add what is still missing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import CatalogError
from otlp2parquet.schema import iceberg_json
from otlp2parquet.schema.iceberg_json import PROP_SCHEMA_VERSION
from otlp2parquet.schema.tables import TableSchema, iceberg_schema

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog as PyCatalog
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

    from otlp2parquet.durability.receipts import PendingFile

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def partition_spec(schema: TableSchema, ice: Schema) -> PartitionSpec:
    """Identity on the service column, hour of the time column: the file layout's partitions,
    so ``add_files`` infers each file's partition from its own statistics."""
    from pyiceberg.partitioning import PartitionSpec

    ids = {f.name: f.field_id for f in ice.fields}
    return PartitionSpec.model_validate(iceberg_json.partition_spec_json(schema, ids))


def ensure_table(catalog: PyCatalog, identifier: tuple[str, str], schema: TableSchema) -> Table:
    """Load the table, creating namespace and table on first use, then evolve its schema."""
    from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError

    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        _ensure_namespace(catalog, identifier[0])
        ice = iceberg_schema(schema)
        props = iceberg_json.table_properties(schema)
        try:
            table = catalog.create_table(
                identifier,
                schema=ice,
                partition_spec=partition_spec(schema, ice),
                properties=props,
            )
            log.info("created Iceberg table %s", ".".join(identifier))
        except TableAlreadyExistsError:  # another writer created it first
            table = catalog.load_table(identifier)
    evolve(table, schema)
    return table


def _ensure_namespace(catalog: PyCatalog, namespace: str) -> None:
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception:  # two writers creating it at once: fine if it exists now
        if not catalog.namespace_exists(namespace):
            raise


def evolve(table: Table, schema: TableSchema) -> bool:
    """Bring the table up to ``schema`` with union_by_name; True when it changed.

    Added columns become optional in the table (files written before have no value for them).
    A column whose type cannot be promoted, or a required table column that the schema no
    longer has, raises CatalogError naming the column.
    """
    from pyiceberg.schema import Schema

    target = iceberg_schema(schema)
    current = table.schema()
    have = {f.name: f for f in current.fields}
    want = {f.name: f for f in target.fields}
    where = (
        f"Iceberg table {'.'.join(table.name())} for schemas/{schema.name}.toml v{schema.version}"
    )
    dropped = [n for n, f in have.items() if f.required and n not in want]
    if dropped:
        raise CatalogError(
            f"{where}: required column(s) {', '.join(map(repr, dropped))} are missing from the "
            "schema; new files could not be registered. Keep the column in the schema file."
        )
    differ = [
        n for n, f in want.items() if n in have and str(have[n].field_type) != str(f.field_type)
    ]
    loosened = [n for n, f in want.items() if n in have and have[n].required and not f.required]
    added = [n for n in want if n not in have]
    # A table already wider than the schema (evolved by a newer writer) reads our files as is.
    wider = {n for n in differ if _promotable(want[n].field_type, have[n].field_type)}
    changed = [n for n in differ if n not in wider]
    bad = [n for n in changed if not _promotable(have[n].field_type, want[n].field_type)]
    if bad:
        raise CatalogError(
            f"{where}: incompatible schema change: "
            + "; ".join(
                f"column {n!r} is {have[n].field_type} in the table but {want[n].field_type} "
                "in the schema file"
                for n in bad
            )
            + ". Give the changed column a new name, or create a new table."
        )
    if not changed and not added and not loosened:
        return False
    relaxed = Schema(
        *(
            f.model_copy(update={"required": False})
            if f.name in added
            else f.model_copy(update={"field_type": have[f.name].field_type})
            if f.name in wider
            else f
            for f in target.fields
        )
    )
    from pyiceberg.exceptions import CommitFailedException

    try:
        with table.transaction() as tx:
            with tx.update_schema() as update:
                update.union_by_name(relaxed)
            tx.set_properties({PROP_SCHEMA_VERSION: str(schema.version)})
    except CommitFailedException:
        raise
    except Exception as exc:  # pyiceberg raises ValueError/ValidationError subclasses here
        raise CatalogError(f"{where}: incompatible schema change: {exc}") from exc
    log.info("evolved %s: added %s, promoted %s", where, added or "none", changed or "none")
    return True


def _promotable(old: Any, new: Any) -> bool:
    from pyiceberg.exceptions import ResolveError
    from pyiceberg.schema import promote

    try:
        promote(old, new)
    except ResolveError:
        return False
    return True


def _timestamp(us: int) -> str:
    return (EPOCH + timedelta(microseconds=int(us))).isoformat()


def registered(table: Table, schema: TableSchema, files: Sequence[PendingFile]) -> set[str]:
    """The URLs among ``files`` that the table's current snapshot already references.

    The scan is limited to the files' time range, so only manifests of those hours are read.
    """
    if not files or table.current_snapshot() is None:
        return set()
    low = _timestamp(min(f.min_ts_us for f in files))
    high = _timestamp(max(f.max_ts_us for f in files))
    column = schema.time_column
    row_filter = f"{column} >= '{low}' AND {column} <= '{high}'"
    wanted = {f.url for f in files}
    tasks = table.scan(row_filter=row_filter, selected_fields=(schema.time_column,)).plan_files()
    return {t.file.file_path for t in tasks if t.file.file_path in wanted}


def without_internal_retries(table: Table) -> Table:
    """The same table with ``commit.retry.num-retries = 0`` in this client's copy only (the
    catalog applies updates to its own metadata, so the property is never written)."""
    from pyiceberg.table import Table as PyTable

    props = {**table.metadata.properties, "commit.retry.num-retries": "0"}
    metadata = table.metadata.model_copy(update={"properties": props})
    return PyTable(table.name(), metadata, table.metadata_location, table.io, table.catalog)


def append_files(
    load: Callable[[], Table],
    schema: TableSchema,
    files: Sequence[PendingFile],
    attempts: int = 12,
    snapshot_properties: dict[str, str] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> int:
    """Register ``files`` not yet in the table, in one snapshot; returns how many were added.

    Retries concurrent-commit conflicts with jittered backoff; any other failure propagates.
    """
    from pyiceberg.exceptions import CommitFailedException

    for attempt in range(attempts):
        table = load()
        present = registered(table, schema, files)
        todo = [f.url for f in files if f.url not in present]
        if present:
            log.info("%d file(s) already registered in %s", len(present), ".".join(table.name()))
        if not todo:
            return 0
        tx = without_internal_retries(table).transaction()
        tx.add_files(
            todo, snapshot_properties=snapshot_properties or {}, check_duplicate_files=False
        )
        try:
            tx.commit_transaction()
        except CommitFailedException as exc:
            if attempt + 1 >= attempts:
                raise CatalogError(
                    f"commit to {'.'.join(table.name())} still conflicted after {attempts} "
                    f"attempts: {exc}"
                ) from exc
            delay = min(0.05 * 2**attempt, 2.0) * random.uniform(0.5, 1.5)
            log.debug("commit conflict on %s, retrying in %.2fs", ".".join(table.name()), delay)
            sleep(delay)
            continue
        return len(todo)
    return 0  # pragma: no cover - the loop always returns or raises
