"""``otlp2parquet plugins``: every loaded plugin and what it registered."""

from __future__ import annotations

import argparse
import json

from otlp2parquet.cli.common import runtime_from_args
from otlp2parquet.cli.output import emit


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plugins")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    runtime = runtime_from_args(args)
    by_plugin = runtime.registry.by_plugin()
    names = [name for name, _ in runtime.pm.list_name_plugin()]
    if args.json:
        emit(
            json.dumps(
                {
                    name: [
                        {"kind": c.kind, "name": c.name, "aliases": list(c.aliases)}
                        for c in by_plugin.get(name, [])
                    ]
                    for name in names
                },
                indent=2,
            )
        )
        return 0
    for name in names:
        components = by_plugin.get(name, [])
        listed = ", ".join(
            f"{c.kind.replace('_', ' ')} {c.name}"
            + (f" (aliases {', '.join(c.aliases)})" if c.aliases else "")
            for c in components
        )
        emit(f"{name}: {listed or 'hooks only'}")
    return 0
