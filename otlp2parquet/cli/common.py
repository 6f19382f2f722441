"""What every subcommand shares: loading the runtime with the global flags applied."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otlp2parquet.assembly import Adjust, Runtime


def runtime_from_args(
    args: argparse.Namespace,
    overrides: dict[str, tuple[Any, str]] | None = None,
    adjust: Sequence[Adjust] = (),
    output: str | None = None,
) -> Runtime:
    """Bootstrap with ``--config``, ``--log-level``, ``--log-format``, the command's own flag
    overrides (``{"key.path": (value, "--flag")}``, or computed from the loaded config by
    ``adjust``) and ``--output`` (a path or a URL whose scheme a storage backend registers),
    then apply the logging settings. (Imported here: a subcommand's ``--help`` needs none.)"""
    from otlp2parquet.assembly import bootstrap
    from otlp2parquet.telemetry.logs import setup_logging
    from otlp2parquet.telemetry.redaction import Redactor

    cli = dict(overrides or {})
    if args.log_level:
        cli["server.log_level"] = (args.log_level, "--log-level")
    if args.log_format:
        cli["server.log_format"] = (args.log_format, "--log-format")
    runtime = bootstrap(args.config, cli, adjust=adjust, output=output)
    setup_logging(
        runtime.config.get("server.log_level"),
        runtime.config.get("server.log_format"),
        Redactor.from_config(runtime.config, os.environ),
    )
    return runtime
