"""Exports of a TableSchema: ClickHouse DDL, Iceberg schema and a JSON description.

All three read the schema file's data only; the Iceberg schema and its field ids are defined in
``otlp2parquet.schema.iceberg_json``. The ClickHouse DDL is that of the OpenTelemetry Collector's
ClickHouse exporter at ``EXPORTER_VERSION`` (its ``internal/sqltemplates``, default settings:
no cluster, MergeTree, bloom-filter indexes).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.schema import iceberg_json

if TYPE_CHECKING:
    from pyiceberg.schema import Schema as IcebergSchema

    from otlp2parquet.schema.tables import Column, TableSchema

#: The clickhouseexporter release whose tables ``schema export --format clickhouse`` emits.
EXPORTER_VERSION = "v0.162.0"
_TTL = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_TTL_UNITS = {"s": "Second", "m": "Minute", "h": "Hour", "d": "Day", "w": "Week", "": "Day"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INDENT = "    "


def ttl_interval(ttl: str) -> str:
    """``30d`` → ``toIntervalDay(30)``; units s, m, h, d (default) and w."""
    match = _TTL.match(str(ttl))
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(
            f"--ttl {ttl!r} is not a duration; use a positive number with unit s, m, h, d or w "
            "(for example 30d or 72h)"
        )
    return f"toInterval{_TTL_UNITS[match.group(2)]}({int(match.group(1))})"


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _column_lines(schema: TableSchema, default_codec: str) -> list[str]:
    """One DDL line per column; dotted columns become one ``Nested(...)`` group each."""
    lines: list[str] = []
    groups: dict[str, list[Column]] = {}
    for column in schema.columns:
        prefix, dot, _ = column.name.partition(".")
        if dot:
            if prefix not in groups:
                groups[prefix] = []
                lines.append(prefix)  # placeholder, filled in below
            groups[prefix].append(column)
        else:
            codec = column.options.get("codec", default_codec)
            lines.append(
                f"{_quote(column.name)} {column.clickhouse}" + (f" CODEC({codec})" if codec else "")
            )
    for prefix, members in groups.items():
        inner = []
        for column in members:
            kind = column.clickhouse
            if not (kind.startswith("Array(") and kind.endswith(")")):
                raise ConfigError(
                    f"schema {schema.name}: Nested member {column.name} must be an Array(...) type"
                )
            inner.append(f"{_INDENT * 2}{_quote(column.name.partition('.')[2])} {kind[6:-1]}")
        codec = members[0].options.get("codec", default_codec)
        text = f"{_quote(prefix)} Nested(\n" + ",\n".join(inner) + f"\n{_INDENT})"
        lines[lines.index(prefix)] = text + (f" CODEC({codec})" if codec else "")
    return lines


def _name(table: str, database: str | None) -> str:
    if database is not None and not _IDENT.match(database):
        raise ConfigError(f"--database {database!r} is not a plain ClickHouse identifier")
    return f"{database}.{table}" if database else table


def _create_table(name: str, body: list[str], ch: dict[str, Any], ttl: str | None) -> str:
    """``CREATE TABLE`` from column/index lines and the storage facts in ``ch``."""
    parts = [
        f"CREATE TABLE IF NOT EXISTS {name}\n(\n"
        + ",\n".join(_INDENT + line for line in body)
        + "\n)",
        f"ENGINE = {ch.get('engine', 'MergeTree')}",
    ]
    if ch.get("partition_by"):
        parts.append(f"PARTITION BY {ch['partition_by']}")
    if ch.get("primary_key"):
        parts.append(f"PRIMARY KEY {ch['primary_key']}")
    parts.append(f"ORDER BY {ch.get('order_by', 'tuple()')}")
    if ttl:
        parts.append(f"TTL {ch['ttl_expression']} + {ttl_interval(ttl)}")
    if ch.get("settings"):
        parts.append(f"SETTINGS {ch['settings']}")
    return "\n".join(parts) + ";"


def clickhouse_ddl(schema: TableSchema, database: str | None = None, ttl: str | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with the exporter's engine, keys, indexes and settings."""
    ch = dict(schema.clickhouse)
    ch.setdefault("ttl_expression", f"toDateTime({schema.time_column})")
    body = _column_lines(schema, ch.get("codec", ""))
    body.extend(ch.get("materialized", ()))
    body.extend(ch.get("indexes", ()))
    return _create_table(_name(schema.table, database), body, ch, ttl)


def clickhouse_companions(
    schema: TableSchema, database: str | None = None, ttl: str | None = None
) -> list[str]:
    """The exporter's extra tables and materialized views of one table, in creation order."""
    out = []
    for entry in schema.clickhouse.get("companion", ()):
        name = _name(entry["table"], database)
        if entry["kind"] == "table":
            body = [*entry["columns"], *entry.get("indexes", ())]
            out.append(_create_table(name, body, entry, ttl))
        elif entry["kind"] == "materialized_view":
            select = ",\n".join(_INDENT + item for item in entry["select"])
            out.append(
                f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name}\n"
                f"TO {_name(entry['to'], database)}\n"
                f"AS SELECT\n{select}\nFROM {_name(schema.table, database)}\n"
                f"WHERE {entry['where']}\nGROUP BY {entry['group_by']};"
            )
        else:
            raise ConfigError(
                f"schema {schema.name}: companion {entry['table']} has kind {entry['kind']!r}; "
                "use table or materialized_view"
            )
    return out


def clickhouse_header() -> str:
    """The comment that opens an export: which exporter release the DDL follows."""
    return (
        "-- ClickHouse tables of the OpenTelemetry Collector ClickHouse exporter "
        f"(clickhouseexporter) {EXPORTER_VERSION},\n"
        "-- written by otlp2parquet schema export; our Parquet files load into them positionally."
    )


def clickhouse_database(database: str) -> str:
    if not _IDENT.match(database):
        raise ConfigError(f"--database {database!r} is not a plain ClickHouse identifier")
    return f"CREATE DATABASE IF NOT EXISTS {database};"


def iceberg_schema(schema: TableSchema) -> IcebergSchema:
    """The Iceberg v2 schema of a table, field ids from the schema file (``iceberg_json``)."""
    from pyiceberg.schema import Schema

    return Schema.model_validate(iceberg_json.schema_json(schema))


def describe_json(schema: TableSchema) -> dict[str, Any]:
    """Table facts and columns as plain JSON data."""
    return {
        "name": schema.name,
        "table": schema.table,
        "signal": schema.signal,
        "path": schema.path,
        "version": schema.version,
        "description": schema.description,
        "time_column": schema.time_column,
        "service_column": schema.service_column,
        "clickhouse": dict(schema.clickhouse),
        "columns": [
            {
                "name": c.name,
                "arrow": c.arrow,
                "clickhouse": c.clickhouse,
                "nullable": c.nullable,
                "source": c.source,
                **c.options,
            }
            for c in schema.columns
        ],
    }
