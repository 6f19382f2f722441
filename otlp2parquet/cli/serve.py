"""``otlp2parquet serve``: run the platform adapter (the OTLP/HTTP server by default)."""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING

from otlp2parquet.cli.common import runtime_from_args

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config, Layer


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve",
        description="Serve OTLP/HTTP (POST /v1/logs, /v1/traces, /v1/metrics; GET /health, "
        "/ready) until SIGTERM or SIGINT, then flush every buffer and exit.",
    )
    parser.add_argument("--host", help="listen address (host part of server.listen_addr)")
    parser.add_argument("--port", type=_port, help="listen port (port part of server.listen_addr)")
    parser.add_argument(
        "--grpc-port",
        type=_port,
        metavar="PORT",
        help="also receive OTLP/gRPC on PORT (4317 by convention; host from --host or "
        "server.grpc_listen_addr); needs the 'grpc' extra",
    )
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
    from otlp2parquet.engine.pandas_probe import skip_pandas_probe

    skip_pandas_probe()
    adjust = []
    if args.host or args.port is not None:
        adjust.append(partial(_listen_addr_layer, host=args.host, port=args.port))
    if args.grpc_port is not None:
        adjust.append(partial(_grpc_layer, host=args.host, port=args.grpc_port))
    runtime = runtime_from_args(args, adjust=adjust, output=args.output)
    component = runtime.registry.get("platform", runtime.platform)
    platform = component.factory(runtime.config.section(component.section))
    return int(platform.run(runtime))


def _listen_addr_layer(config: Config, host: str | None, port: int | None) -> Layer:
    """``--host``/``--port`` replace one half of ``server.listen_addr`` each."""
    from otlp2parquet.config.layers import Layer

    old_host, _, old_port = str(config.get("server.listen_addr")).rpartition(":")
    host = _bracketed(host)
    addr = f"{host or old_host}:{old_port if port is None else port}"
    flags = " and ".join(f for f, v in (("--host", host), ("--port", port)) if v is not None)
    return Layer(
        "cli",
        {"server": {"listen_addr": addr}},
        "command line",
        {"server.listen_addr": f"command-line flag {flags}"},
    )


def _grpc_layer(config: Config, host: str | None, port: int) -> Layer:
    """``--grpc-port`` turns on the gRPC receiver on that port (host: ``--host`` or the one of
    ``server.grpc_listen_addr``)."""
    from otlp2parquet.config.layers import Layer

    old_host = str(config.get("server.grpc_listen_addr")).rpartition(":")[0]
    host = _bracketed(host)
    origin = "command-line flag --grpc-port" + (" and --host" if host else "")
    return Layer(
        "cli",
        {"server": {"grpc_enabled": True, "grpc_listen_addr": f"{host or old_host}:{port}"}},
        "command line",
        {"server.grpc_enabled": origin, "server.grpc_listen_addr": origin},
    )


def _bracketed(host: str | None) -> str | None:
    """An IPv6 address in brackets, for ``host:port``."""
    if host and ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host
