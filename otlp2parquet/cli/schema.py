"""``otlp2parquet schema show|export``: what the table schema files say, as a column listing,
ClickHouse DDL, Arrow, Iceberg or JSON."""

from __future__ import annotations

import argparse
import json

from otlp2parquet.cli.output import emit
from otlp2parquet.schema.tables import (
    TableSchema,
    clickhouse_ddl,
    describe_json,
    find_table_schema,
    iceberg_schema,
    list_table_schemas,
)

FORMATS = ("clickhouse", "arrow", "iceberg", "json")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("schema")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="list the tables and their columns")
    show.add_argument("--table", metavar="NAME", help="one table (logs, otel_logs, a .toml file)")
    show.set_defaults(func=run_show)
    export = actions.add_parser("export", help="print ClickHouse DDL, Arrow, Iceberg or JSON")
    export.add_argument("--format", choices=FORMATS, default="clickhouse", help="output format")
    export.add_argument("--table", metavar="NAME", help="one table (logs, otel_logs, a .toml file)")
    export.add_argument("--database", metavar="DB", help="ClickHouse database for the tables")
    export.add_argument("--ttl", metavar="DURATION", help="ClickHouse TTL, e.g. 30d or 72h")
    export.set_defaults(func=run_export)


def _selected(args: argparse.Namespace) -> list[TableSchema]:
    return [find_table_schema(args.table)] if args.table else list_table_schemas()


def run_show(args: argparse.Namespace) -> int:
    for schema in _selected(args):
        emit(
            f"{schema.table} ({schema.name}, {schema.signal}, version {schema.version}): "
            f"{len(schema.columns)} columns, time {schema.time_column}, files under "
            f"{schema.path}/"
        )
        width = max(len(c.name) for c in schema.columns)
        for position, column in enumerate(schema.columns, 1):
            arrow = column.arrow + ("?" if column.nullable else "")
            transform = column.options.get("transform")
            source = column.source + (f" ({transform})" if transform else "")
            emit(
                f"  {position:>2} {column.name:<{width}}  {arrow:<27} "
                f"{column.clickhouse:<44} {source}"
            )
        emit()
    return 0


def run_export(args: argparse.Namespace) -> int:
    schemas = _selected(args)
    if args.format == "json":
        emit(json.dumps([describe_json(s) for s in schemas], indent=2))
        return 0
    if args.format == "clickhouse":
        from otlp2parquet.schema.export import (
            clickhouse_companions,
            clickhouse_database,
            clickhouse_header,
        )

        emit(clickhouse_header() + "\n")
        if args.database:
            emit(clickhouse_database(args.database) + "\n")
        statements = []
        for schema in schemas:
            statements.append(clickhouse_ddl(schema, database=args.database, ttl=args.ttl))
            statements += clickhouse_companions(schema, database=args.database, ttl=args.ttl)
        emit("\n\n".join(statements))
        return 0
    for index, schema in enumerate(schemas):
        if index:
            emit()
        if args.format == "arrow":
            emit(f"-- {schema.table}")
            emit(schema.arrow_schema.to_string(show_schema_metadata=False))
        else:
            emit(f"-- {schema.table}")
            emit(str(iceberg_schema(schema)))
    return 0
