"""The ``otlp2parquet`` command line. Each subcommand lives in ``otlp2parquet.cli``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from otlp2parquet import __version__
from otlp2parquet.cli.output import error_line
from otlp2parquet.errors import ConfigError, Otlp2ParquetError, PluginError
from otlp2parquet.telemetry.logs import setup_logging

log = logging.getLogger(__name__)

#: Subcommand modules; each has ``add_parser(subparsers)`` setting ``func(args) -> int``.
COMMANDS = (
    "serve",
    "convert",
    "schema",
    "plugins",
    "config",
    "connect",
    "catalog",
    "deploy",
    "query",
)
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otlp2parquet",
        description="Land OpenTelemetry logs, metrics and traces as Parquet in a data lake.",
    )
    parser.add_argument("--version", action="version", version=f"otlp2parquet {__version__}")
    _add_global_options(parser, default=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"otlp2parquet.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"otlp2parquet.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    for leaf in _subcommand_parsers(parser):
        _add_global_options(leaf, default=argparse.SUPPRESS)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """``--config``, ``--log-level`` and ``--log-format``. Subcommands get them too, with
    ``SUPPRESS`` defaults so a value given before the subcommand is not reset; a short ``-c``
    is left out where the subcommand uses it (``query duckdb -c SQL``)."""
    taken = set(parser._option_string_actions)
    config = [flag for flag in ("--config", "-c") if flag not in taken]
    parser.add_argument(
        *config,
        dest="config",
        metavar="FILE",
        default=default,
        help="config file (else OTLP2PARQUET_CONFIG, OTLP2PARQUET_CONFIG_CONTENT, ./config.toml)",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=default,
        help="override server.log_level",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=default,
        help="override server.log_format",
    )


def _subcommand_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser below ``parser`` (subcommands and their actions), each once."""
    found: dict[int, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if id(child) not in found:
                    found[id(child)] = child
                    for grandchild in _subcommand_parsers(child):
                        found.setdefault(id(grandchild), grandchild)
    return list(found.values())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level or "info", args.log_format or "text")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except (ConfigError, PluginError) as exc:
        error_line(str(exc))
        return EXIT_USAGE
    except Otlp2ParquetError as exc:
        error_line(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
