"""Table schemas as data: ``schemas/<name>.toml`` → Arrow schema, extraction plan, exports.

A schema file declares every column of one table (order, name, Arrow type, ClickHouse type,
nullability, source); see ``schemas/logs.toml`` for the keys. Everything else (the Arrow schema,
the mapper's extraction plan in ``columns.py``, the ClickHouse DDL, the Iceberg schema) is derived
from these files, never written twice.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.typespec import TypeSpec, parse_type

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.schema import Schema as IcebergSchema

SCHEMA_PACKAGE = "otlp2parquet.schemas"
#: Column keys with a meaning of their own; every other key lands in ``Column.options``.
_COLUMN_KEYS = frozenset({"name", "arrow", "clickhouse", "nullable", "source"})
_TABLE_KEYS = ("name", "table", "signal", "path", "version", "time_column", "service_column")


@dataclass(frozen=True)
class Column:
    """One declared column."""

    name: str
    arrow: str  # e.g. "timestamp[us, tz=UTC]", "map<string, string>"
    clickhouse: str  # e.g. "DateTime64(9)"
    nullable: bool
    source: str  # field path in the OTLP message, or "extractor:<name>"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def field_id(self) -> int:
        """The stable Iceberg field id declared in the schema file."""
        return int(self.options["id"])

    @property
    def arrow_type(self) -> pa.DataType:
        return arrow_type(self.arrow)

    @property
    def type_spec(self) -> TypeSpec:
        """The parsed type, without pyarrow (``otlp2parquet.schema.typespec``)."""
        return parse_type(self.arrow)


class _ArrowSchema:
    """``TableSchema.arrow_schema``: the given schema, else one built from the columns on first
    read, so that reading schema files needs no pyarrow (runtimes without it, the lite path)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return None  # the dataclass field's default
        value = obj.__dict__.get(self.slot)
        if value is None:
            import pyarrow as pa

            fields = [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in obj.columns]
            value = obj.__dict__[self.slot] = pa.schema(fields)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


@dataclass(frozen=True)
class TableSchema:
    """One target table, e.g. ``logs`` → ``otel_logs``."""

    name: str  # schema file stem: logs, traces, metrics_gauge, ...
    table: str  # ClickHouse / Iceberg table name: otel_logs, ...
    signal: str  # logs | traces | metrics
    path: str  # layout segment: logs, traces, metrics/gauge, ...
    version: int
    time_column: str  # Timestamp (logs, traces) or TimeUnix (metrics)
    service_column: str
    columns: tuple[Column, ...]
    arrow_schema: pa.Schema = _ArrowSchema()
    clickhouse: dict[str, Any] = field(default_factory=dict)  # engine, order_by, partition_by
    description: str = ""
    order: int = 0  # listing order of the built-in tables
    source_file: str = ""

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def arrow_type(text: str) -> pa.DataType:
    """Parse the schema files' type syntax: scalars, ``list<T>`` and ``map<string, T>``.

    List elements and map values are never null; unsigned types are refused (Iceberg has none).
    """
    return _to_arrow(parse_type(text))


def _to_arrow(spec: TypeSpec) -> pa.DataType:
    import pyarrow as pa

    if spec.kind == "list":
        assert spec.item is not None
        return pa.list_(pa.field("element", _to_arrow(spec.item), nullable=False))
    if spec.kind == "map":
        assert spec.item is not None
        return pa.map_(pa.string(), pa.field("value", _to_arrow(spec.item), nullable=False))
    if spec.name.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC")
    return pa.type_for_alias(spec.name)  # string, bool, int32, int64, float64


def parse_table_schema(data: dict[str, Any], origin: str) -> TableSchema:
    """Build a TableSchema from a parsed schema file; ``origin`` names it in errors."""
    missing = [key for key in (*_TABLE_KEYS, "columns") if key not in data]
    if missing:
        raise ConfigError(f"schema file {origin}: missing {', '.join(missing)}")
    columns: list[Column] = []
    ids: set[int] = set()
    for position, raw in enumerate(data["columns"], 1):
        where = f"schema file {origin}, column {position} ({raw.get('name', '?')})"
        lost = [key for key in ("name", "arrow", "clickhouse", "source", "id") if key not in raw]
        if lost:
            raise ConfigError(f"{where}: missing {', '.join(lost)}")
        if raw["id"] in ids:
            raise ConfigError(f"{where}: field id {raw['id']} is used twice")
        ids.add(raw["id"])
        column = Column(
            name=raw["name"],
            arrow=raw["arrow"],
            clickhouse=raw["clickhouse"],
            nullable=bool(raw.get("nullable", False)),
            source=raw["source"],
            options={k: v for k, v in raw.items() if k not in _COLUMN_KEYS},
        )
        try:
            parse_type(column.arrow)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        columns.append(column)
    names = [c.name for c in columns]
    for key in ("time_column", "service_column"):
        if data[key] not in names:
            raise ConfigError(f"schema file {origin}: {key} {data[key]!r} is not a column")
    return TableSchema(
        name=data["name"],
        table=data["table"],
        signal=data["signal"],
        path=data["path"],
        version=int(data["version"]),
        time_column=data["time_column"],
        service_column=data["service_column"],
        columns=tuple(columns),
        clickhouse=dict(data.get("clickhouse", {})),
        description=str(data.get("description", "")),
        order=int(data.get("order", 0)),
        source_file=origin,
    )


@functools.cache
def load_table_schema(name: str) -> TableSchema:
    """A built-in schema by name (``logs``, ``metrics_sum``, ...) or a schema file by path."""
    if name.endswith(".toml"):
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read schema file {name}: {exc.strerror}") from None
        origin = str(path)
    else:
        resource = files(SCHEMA_PACKAGE).joinpath(f"{name}.toml")
        if not resource.is_file():
            known = ", ".join(s.name for s in list_table_schemas()) or "none"
            raise ConfigError(f"unknown table schema {name!r}; known: {known}")
        text = resource.read_text(encoding="utf-8")
        origin = f"schemas/{name}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"schema file {origin} is not valid TOML: {exc}") from None
    return parse_table_schema(data, origin)


def list_table_schemas() -> list[TableSchema]:
    """Every built-in table schema, logs first, then traces, then the metric types."""
    names = [
        entry.name[: -len(".toml")]
        for entry in files(SCHEMA_PACKAGE).iterdir()
        if entry.name.endswith(".toml")
    ]
    return sorted((load_table_schema(n) for n in names), key=lambda s: (s.order, s.name))


def find_table_schema(name: str) -> TableSchema:
    """A built-in schema by schema name (``logs``) or table name (``otel_logs``)."""
    for schema in list_table_schemas():
        if name in (schema.name, schema.table):
            return schema
    return load_table_schema(name)


# -- exports (implemented in schema_export.py, imported lazily) -------------------------------
def clickhouse_ddl(schema: TableSchema, database: str | None = None, ttl: str | None = None) -> str:
    """A ready-to-run ``CREATE TABLE`` statement (MergeTree, the exporter's keys)."""
    from otlp2parquet.schema import export as schema_export

    return schema_export.clickhouse_ddl(schema, database, ttl)


def iceberg_schema(schema: TableSchema) -> IcebergSchema:
    """The pyiceberg schema, with the stable field ids of the schema file."""
    from otlp2parquet.schema import export as schema_export

    return schema_export.iceberg_schema(schema)


def describe_json(schema: TableSchema) -> dict[str, Any]:
    """A JSON-ready description of the table and its columns."""
    from otlp2parquet.schema import export as schema_export

    return schema_export.describe_json(schema)
