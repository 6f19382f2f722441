"""The ``otlp2parquet`` command line. Each subcommand lives in ``otlp2parquet.cli``.

Subcommands are listed by name and one-line help only; a subcommand's module is imported, and
its parser built, when the command line names it. ``--version`` and ``--help`` import none.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any, cast

from otlp2parquet import __version__

#: (name, one-line help) per subcommand, in ``--help`` order. The module
#: ``otlp2parquet.cli.<name>`` has ``add_parser(subparsers)`` setting ``func(args) -> int``.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("serve", "receive OTLP/HTTP on :4318 and write Parquet (./data by default)"),
    (
        "convert",
        "convert captured OTLP files (JSON, JSON Lines, protobuf as the Collector's "
        "fileexporter writes it; gzip or zstd) to Parquet",
    ),
    ("schema", "show or export the output table schemas"),
    ("plugins", "list plugins and the components they register"),
    ("config", "show or check the effective configuration"),
    ("connect", "print an exporter configuration that sends to this server"),
    ("catalog", "sync pending files, show status, maintain tables"),
    ("deploy", "write deployment files for a platform"),
    ("query", "query the lake with DuckDB, or print ClickHouse tables that read it in place"),
)
EXIT_USAGE = 2


class LazySubcommands(argparse._SubParsersAction):
    """Subcommands that cost a name and a help line until chosen: then their module's
    ``add_parser`` replaces the listing-only stub, and the global options are added to it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stubs: set[str] = set()

    def add_stub(self, name: str, help: str) -> None:
        super().add_parser(name, help=help)
        self._stubs.add(name)

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name not in self._stubs:
            return super().add_parser(name, **kwargs)
        self._stubs.discard(name)
        kwargs.pop("help", None)  # the stub's help line stays in the listing
        parsers = self._name_parser_map
        order = list(parsers)
        del parsers[name]
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        reordered = [(key, parsers[key]) for key in order]
        parsers.clear()
        parsers.update(reordered)
        return parser

    def load(self, name: str) -> argparse.ArgumentParser:
        """The full parser of ``name``, importing its module the first time."""
        if name in self._stubs:
            importlib.import_module(f"otlp2parquet.cli.{name}").add_parser(self)
            parser = self._name_parser_map[name]
            for leaf in (parser, *_subcommand_parsers(parser)):
                _add_global_options(leaf, default=argparse.SUPPRESS)
        return self._name_parser_map[name]

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        self.load(values[0])
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; a subcommand's own parser is built when it is parsed (or by
    ``subcommands(parser).load(name)``). A subcommand whose module is absent is left out."""
    parser = argparse.ArgumentParser(
        prog="otlp2parquet",
        description="Land OpenTelemetry logs, metrics and traces as Parquet in a data lake.",
    )
    parser.add_argument("--version", action="version", version=f"otlp2parquet {__version__}")
    _add_global_options(parser, default=None)
    sub = cast(
        LazySubcommands,
        parser.add_subparsers(dest="command", metavar="COMMAND", action=LazySubcommands),
    )
    for name, help in COMMANDS:
        if importlib.util.find_spec(f"otlp2parquet.cli.{name}") is not None:
            sub.add_stub(name, help)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> LazySubcommands:
    """The subcommand table of a parser from ``build_parser``."""
    for action in parser._actions:
        if isinstance(action, LazySubcommands):
            return action
    raise LookupError("the parser has no subcommands")


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
    # Imported once the arguments parse: --version and --help exit before this.
    from otlp2parquet.cli.output import error_line
    from otlp2parquet.errors import ConfigError, Otlp2ParquetError, PluginError
    from otlp2parquet.telemetry.logs import setup_logging

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
