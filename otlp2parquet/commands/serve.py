"""``otlp2parquet serve``: run the platform adapter (the OTLP/HTTP server by default)."""

from __future__ import annotations

import argparse
from typing import Any

from otlp2parquet.commands.common import output_overrides, runtime_from_args
from otlp2parquet.config import Layer


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve",
        help="receive OTLP/HTTP on :4318 and write Parquet (./data by default)",
        description="Serve OTLP/HTTP (POST /v1/logs, /v1/traces, /v1/metrics; GET /health, "
        "/ready) until SIGTERM or SIGINT, then flush every buffer and exit.",
    )
    parser.add_argument("--host", help="listen address (host part of server.listen_addr)")
    parser.add_argument("--port", type=_port, help="listen port (port part of server.listen_addr)")
    parser.add_argument(
        "--output",
        "-o",
        metavar="DIR_OR_URL",
        help="where Parquet goes: a directory, or s3://, r2://, gs://, az://, memory:// URL",
    )
    parser.set_defaults(func=run)


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0-65535)")
    return port


def run(args: argparse.Namespace) -> int:
    runtime = runtime_from_args(args, output_overrides(args.output))
    if args.host or args.port is not None:
        _override_listen_addr(runtime.config, args.host, args.port)
    component = runtime.registry.get("platform", runtime.platform)
    platform = component.factory(runtime.config.section(component.section))
    return int(platform.run(runtime))


def _override_listen_addr(config: Any, host: str | None, port: int | None) -> None:
    """``--host``/``--port`` replace one half of ``server.listen_addr`` each."""
    old_host, _, old_port = str(config.get("server.listen_addr")).rpartition(":")
    if host and ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    addr = f"{host or old_host}:{old_port if port is None else port}"
    flags = " and ".join(f for f, v in (("--host", host), ("--port", port)) if v is not None)
    config.add_layer(
        Layer(
            "cli",
            {"server": {"listen_addr": addr}},
            "command line",
            {"server.listen_addr": f"command-line flag {flags}"},
        )
    )
