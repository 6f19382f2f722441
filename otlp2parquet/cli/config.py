"""``otlp2parquet config show [--origin]`` and ``config check``."""

from __future__ import annotations

import argparse

from otlp2parquet.cli.common import runtime_from_args
from otlp2parquet.cli.output import emit


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective configuration, secrets masked")
    show.add_argument("--origin", action="store_true", help="say where each value came from")
    show.set_defaults(func=run_show)
    check = actions.add_parser("check", help="validate the configuration and plugins")
    check.set_defaults(func=run_check)


def run_show(args: argparse.Namespace) -> int:
    runtime = runtime_from_args(args)
    emit(f"# platform: {runtime.platform}")
    emit(runtime.config.show(with_origin=args.origin))
    return 0


def run_check(args: argparse.Namespace) -> int:
    runtime = runtime_from_args(args)
    config, registry = runtime.config, runtime.registry
    registry.get("storage_backend", config.get("storage.backend"))
    registry.get("partitioner", config.get("partitioning.scheme"))
    registry.get("catalog", config.get("catalog_mode"))
    registry.get("platform", runtime.platform)
    emit(
        f"configuration OK (platform {runtime.platform}, storage "
        f"{runtime.config.get('storage.backend')}, catalog {runtime.config.get('catalog_mode')})"
        + (f", {len(runtime.warnings)} warning(s)" if runtime.warnings else "")
    )
    return 0
