"""What every subcommand shares: loading the runtime with the global flags applied."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from otlp2parquet.assembly import Adjust, Runtime, bootstrap
from otlp2parquet.telemetry.logs import setup_logging


def runtime_from_args(
    args: argparse.Namespace,
    overrides: dict[str, tuple[Any, str]] | None = None,
    adjust: Sequence[Adjust] = (),
) -> Runtime:
    """Bootstrap with ``--config``, ``--log-level``, ``--log-format`` and the command's own
    flag overrides (``{"key.path": (value, "--flag")}``, or computed from the loaded config by
    ``adjust``), then apply the logging settings."""
    cli = dict(overrides or {})
    if args.log_level:
        cli["server.log_level"] = (args.log_level, "--log-level")
    if args.log_format:
        cli["server.log_format"] = (args.log_format, "--log-format")
    runtime = bootstrap(args.config, cli, adjust=adjust)
    setup_logging(runtime.config.get("server.log_level"), runtime.config.get("server.log_format"))
    return runtime


def output_overrides(output: str | None) -> dict[str, tuple[Any, str]]:
    """``--output`` as config: a local path selects the fs backend; ``s3://bucket/prefix``,
    ``gs://``, ``az://`` or ``memory://`` select their backend."""
    if not output:
        return {}
    flag = "--output"
    scheme, sep, rest = output.partition("://")
    if not sep or scheme == "file":
        return {"storage.backend": ("fs", flag), "storage.fs.path": (rest if sep else output, flag)}
    bucket, _, prefix = rest.partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if scheme in ("s3", "s3a"):
        return {
            "storage.backend": ("s3", flag),
            "storage.s3.bucket": (bucket, flag),
            "storage.s3.prefix": (prefix, flag),
        }
    if scheme == "r2":
        return {
            "storage.backend": ("r2", flag),
            "storage.r2.bucket": (bucket, flag),
            "storage.r2.prefix": (prefix, flag),
        }
    if scheme in ("gs", "gcs"):
        return {
            "storage.backend": ("gcs", flag),
            "storage.gcs.bucket": (bucket, flag),
            "storage.gcs.prefix": (prefix, flag),
        }
    if scheme in ("az", "abfs", "azure"):
        return {
            "storage.backend": ("azure", flag),
            "storage.azure.container": (bucket, flag),
            "storage.azure.prefix": (prefix, flag),
        }
    if scheme == "memory":
        return {"storage.backend": ("memory", flag), "storage.memory.path": ("/" + rest, flag)}
    from otlp2parquet.errors import ConfigError

    raise ConfigError(
        f"--output {output!r}: unknown scheme {scheme!r}; use a path, s3://, r2://, gs://, "
        "az:// or memory://"
    )
