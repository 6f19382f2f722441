"""``otlp2parquet query duckdb|clickhouse``: query the lake where it lies.

``query duckdb`` opens a small DuckDB shell (statements end with ``;``; ``.tables``, ``.quit``)
or runs ``-c SQL``, with the views ``otel_logs``, ``otel_traces`` and ``otel_metrics_<type>``
over the configured storage (or ``--output``). ``query clickhouse --print`` prints ``CREATE
TABLE`` statements whose File/S3 engines read the same files in place.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from typing import TYPE_CHECKING, Any

from otlp2parquet.cli.common import runtime_from_args
from otlp2parquet.cli.output import emit, error_line
from otlp2parquet.schema.tables import TableSchema, find_table_schema, load_table_schema

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.plugin.registry import Component

FORMATS = ("table", "csv", "json")
PROMPT, CONTINUE = "otlp2parquet> ", "         ...> "


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("query")
    engines = parser.add_subparsers(dest="engine", metavar="ENGINE", required=True)
    duck = engines.add_parser(
        "duckdb",
        help="a DuckDB shell (or -c SQL) with views otel_logs, otel_traces, otel_metrics_*",
    )
    duck.add_argument(
        "-c",
        "--command",
        dest="sql",
        action="append",
        metavar="SQL",
        help="run SQL and exit (repeatable); without it, read statements from stdin",
    )
    duck.add_argument("--format", choices=FORMATS, default="table", help="result format")
    _output_argument(duck)
    duck.set_defaults(func=run_duckdb)
    house = engines.add_parser(
        "clickhouse", help="print CREATE TABLE statements (File/S3 engines) over the lake"
    )
    house.add_argument(
        "--print",
        dest="print_sql",
        action="store_true",
        required=True,
        help="print the statements (pipe them into clickhouse-client or clickhouse-local)",
    )
    house.add_argument("--database", metavar="DB", help="create the tables in this database")
    house.add_argument("--table", metavar="NAME", help="one table (logs, otel_logs, ...)")
    house.add_argument(
        "--with-credentials",
        action="store_true",
        help="write the storage keys from the config into the statements (secrets!)",
    )
    _output_argument(house)
    house.set_defaults(func=run_clickhouse)


def _output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        "-o",
        metavar="DIR_OR_URL",
        help="where the lake is: a directory or s3://, r2://, gs://, az:// URL (else storage.*)",
    )


def lake_schemas(runtime: Runtime) -> list[TableSchema]:
    """Every table the loaded schema mappers fill, logs first."""
    names = {n for c in runtime.registry.all("schema_mapper") for n in c.meta.get("tables", ())}
    return sorted((load_table_schema(n) for n in names), key=lambda s: (s.order, s.name))


def _storage(runtime: Runtime) -> Component:
    """The configured storage backend's registration (its ``query`` meta says how engines
    reach its files)."""
    return runtime.registry.get("storage_backend", runtime.config.get("storage.backend"))


# -- duckdb ---------------------------------------------------------------------------------
def run_duckdb(args: argparse.Namespace) -> int:
    from otlp2parquet.query import duckdb as query_duckdb

    runtime = runtime_from_args(args, output=args.output)
    component = _storage(runtime)
    options = runtime.config.section(component.section)
    storage = component.factory(options)
    access = component.meta.get("query")
    con = query_duckdb.connect(storage, lake_schemas(runtime), options, access=access)
    if args.sql:
        return max(run_sql(con, sql, args.format) for sql in args.sql)
    return shell(con, args.format, sys.stdin)


def run_sql(con: Any, sql: str, fmt: str) -> int:
    """Run every statement of ``sql``, printing each result; 1 after an error."""
    import duckdb

    try:
        for statement in con.extract_statements(sql):
            relation = con.sql(statement.query)
            changes = duckdb.ExpectedResultType.CHANGED_ROWS in statement.expected_result_type
            if relation is not None and not changes:
                emit(render(relation, fmt), end="")
    except duckdb.Error as exc:
        error_line(str(exc))
        return 1
    return 0


def render(relation: Any, fmt: str) -> str:
    if fmt == "table":
        return str(relation)
    rows = relation.fetchall()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(relation.columns)
        writer.writerows(rows)
        return out.getvalue()
    lines = (
        json.dumps(dict(zip(relation.columns, row, strict=True)), default=str, ensure_ascii=False)
        for row in rows
    )
    return "".join(f"{line}\n" for line in lines)


def shell(con: Any, fmt: str, stdin: Any) -> int:
    """Read statements (ending with ``;``) until ``.quit`` or end of input; 1 if any failed."""
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 - line editing and history for input()
        emit("views: " + ", ".join(_views(con)) + "; statements end with ';'; .quit to leave")
    status, pending = 0, ""
    while True:
        if interactive:
            try:
                line = input(CONTINUE if pending else PROMPT)
            except EOFError:
                break
        else:
            line = stdin.readline()
            if not line:
                break
        command = line.strip()
        if not pending and command.startswith("."):
            if command in (".quit", ".exit"):
                break
            if command == ".tables":
                emit("\n".join(_views(con)))
            else:
                error_line(f"unknown command {command}; use .tables or .quit")
            continue
        pending += line if line.endswith("\n") else f"{line}\n"
        if command.endswith(";"):
            status = max(status, run_sql(con, pending, fmt))
            pending = ""
    if pending.strip():
        status = max(status, run_sql(con, pending, fmt))
    return status


def _views(con: Any) -> list[str]:
    return [
        row[0]
        for row in con.sql(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
        ).fetchall()
    ]


# -- clickhouse -----------------------------------------------------------------------------
def run_clickhouse(args: argparse.Namespace) -> int:
    from otlp2parquet.query.access import LakeAccess
    from otlp2parquet.query.clickhouse import statements

    runtime = runtime_from_args(args, output=args.output)
    component = _storage(runtime)
    options = runtime.config.section(component.section)
    schemas = [find_table_schema(args.table)] if args.table else lake_schemas(runtime)
    for statement in statements(
        schemas,
        component.name,
        options,
        args.database,
        with_credentials=args.with_credentials,
        access=component.meta.get("query") or LakeAccess(),
        section=component.section,
    ):
        emit(statement + "\n")
    return 0
