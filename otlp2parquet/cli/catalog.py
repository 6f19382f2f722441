"""``otlp2parquet catalog sync|status|maintain``: pending receipts and table upkeep.

The catalog component (``catalog_mode``) is built exactly as the pipeline builds it, from the
configured storage backend and the schema mappers' tables, without starting anything else.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from otlp2parquet.cli.common import runtime_from_args
from otlp2parquet.cli.output import emit
from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import TableSchema, load_table_schema

EXIT_PENDING = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("catalog")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sync = actions.add_parser("sync", help="commit every pending receipt (exit 1 if some fail)")
    sync.add_argument(
        "--min-age",
        type=float,
        default=0.0,
        metavar="SECS",
        help="skip receipts younger than this (commits still in flight)",
    )
    status = actions.add_parser("status", help="list pending files and the last error")
    maintain = actions.add_parser("maintain", help="expire snapshots; compact small files")
    maintain.add_argument(
        "--older-than-hours",
        type=float,
        default=24.0,
        help="expire snapshots older than this (default 24)",
    )
    maintain.add_argument(
        "--retain-last",
        type=int,
        default=5,
        help="always keep this many newest snapshots (default 5)",
    )
    maintain.add_argument(
        "--compact",
        action="store_true",
        help="rewrite small files of closed hours into larger ones",
    )
    maintain.add_argument(
        "--closed-after-minutes",
        type=float,
        default=15.0,
        help="an hour is closed this long after it ends (default 15)",
    )
    maintain.add_argument("--small-file-mb", type=float, default=32.0)
    maintain.add_argument("--target-file-mb", type=float, default=128.0)
    maintain.add_argument(
        "--table",
        action="append",
        metavar="SCHEMA",
        help="only this table (schema name such as logs; repeatable)",
    )
    for action, func in ((sync, run_sync), (status, run_status), (maintain, run_maintain)):
        action.add_argument("--json", action="store_true", help="machine-readable output")
        action.set_defaults(func=func)


def build_catalog(args: argparse.Namespace) -> tuple[Any, dict[str, TableSchema]]:
    """The configured catalog component, which must support sync/status/maintain."""
    runtime = runtime_from_args(args)
    config, registry = runtime.config, runtime.registry
    mode = config.get("catalog_mode")
    if mode in (None, "none"):
        raise ConfigError(
            f'catalog commands need catalog_mode = "iceberg"; it is {mode!r} from '
            f"{config.origin('catalog_mode')}. Set it in config.toml or with "
            "OTLP2PARQUET_CATALOG_MODE=iceberg"
        )
    backend = registry.get("storage_backend", config.get("storage.backend"))
    storage = backend.factory(config.section(backend.section))
    schemas = {
        name: load_table_schema(name)
        for mapper in registry.all("schema_mapper")
        for name in mapper.meta.get("tables", ())
    }
    component = registry.get("catalog", mode)
    catalog = component.factory(config.section(component.section), storage, schemas)
    if not all(hasattr(catalog, m) for m in ("sync", "status")):
        raise ConfigError(f"catalog {mode!r} keeps no pending files; nothing to do")
    return catalog, schemas


def run_sync(args: argparse.Namespace) -> int:
    catalog, _ = build_catalog(args)
    try:
        report = catalog.sync(min_age_secs=args.min_age)
    finally:
        catalog.close()
    if args.json:
        emit(json.dumps(asdict(report), indent=2))
    else:
        emit(
            f"registered {report.committed} file(s); {report.already} already registered; "
            f"{report.receipts_done} receipt(s) done, {report.receipts_failed} still pending"
            + (f", {report.skipped_young} too young" if report.skipped_young else "")
        )
        for error in report.errors:
            emit(f"error: {error}")
        for key, reason in report.unreadable:
            emit(f"unreadable receipt {key}: {reason}")
    return EXIT_PENDING if report.receipts_failed or report.unreadable else 0


def _when(ms: int) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_status(args: argparse.Namespace) -> int:
    catalog, _ = build_catalog(args)
    status = catalog.status()
    files = [
        {
            "table": r.table,
            "receipt": r.key,
            "url": f.url,
            "rows": f.rows,
            "created": _when(r.created_ms),
            "attempts": r.attempts,
            "last_error": r.last_error,
        }
        for r in status.receipts
        for f in r.files
    ]
    errors = [
        r.last_error
        for r in sorted(status.receipts, key=lambda r: r.last_attempt_ms)
        if r.last_error
    ]
    last_error = status.last_error or (errors[-1] if errors else "")
    if args.json:
        emit(
            json.dumps(
                {
                    "catalog": status.kind,
                    "namespace": status.namespace,
                    "properties": status.properties,
                    "pending_files": files,
                    "unreadable_receipts": [list(u) for u in status.unreadable],
                    "last_error": last_error,
                },
                indent=2,
            )
        )
        return 0
    emit(
        f"catalog {status.kind} ({status.properties.get('uri', '')}), namespace "
        f"{status.namespace}: {len(files)} pending file(s) in {len(status.receipts)} receipt(s)"
    )
    for item in files:
        emit(
            f"  {item['table']}  {item['url']}  rows={item['rows']}  since {item['created']}"
            f"  attempts={item['attempts']}"
        )
    for key, reason in status.unreadable:
        emit(f"  unreadable receipt {key}: {reason}")
    emit(f"last error: {last_error or 'none'}")
    return 0


def run_maintain(args: argparse.Namespace) -> int:
    catalog, schemas = build_catalog(args)
    if not hasattr(catalog, "maintain"):
        raise ConfigError("this catalog has no maintenance to run")
    names = args.table or sorted(schemas)
    unknown = [n for n in names if n not in schemas]
    if unknown:
        raise ConfigError(f"--table {', '.join(unknown)}: unknown; known: {', '.join(schemas)}")
    now_us = time.time_ns() // 1000
    try:
        reports = catalog.maintain(
            names,
            older_than_ms=int(now_us / 1000 - args.older_than_hours * 3_600_000),
            retain_last=args.retain_last,
            compact_before_us=int(now_us - args.closed_after_minutes * 60_000_000)
            if args.compact
            else None,
            small_bytes=int(args.small_file_mb * (1 << 20)),
            target_bytes=int(args.target_file_mb * (1 << 20)),
        )
    finally:
        catalog.close()
    if args.json:
        emit(json.dumps([asdict(r) for r in reports], indent=2))
        return 0
    for r in reports:
        emit(
            f"{r.table}: {r.snapshots_expired} snapshot(s) expired, {r.partitions_compacted} "
            f"partition(s) compacted ({r.files_removed} files → {r.files_added})"
        )
        for note in r.notes:
            emit(f"  {note}")
    return 0
