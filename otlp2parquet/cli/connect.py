"""``otlp2parquet connect otel-collector|python|node``: an exporter configuration that points at
this server, ready to paste. Secrets are never printed: the snippets name their variables."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from otlp2parquet.cli.common import runtime_from_args
from otlp2parquet.cli.output import emit

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config

TARGETS = ("otel-collector", "python", "node")
BEARER_VAR = "OTLP2PARQUET_AUTH_BEARER_TOKEN"
PASSWORD_VAR = "OTLP2PARQUET_BASIC_AUTH_PASSWORD"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("connect")
    parser.add_argument("target", choices=TARGETS, help="who sends the telemetry")
    parser.add_argument(
        "--endpoint",
        help="base URL the senders reach this server at (default: from server.listen_addr, "
        "with 0.0.0.0 shown as localhost)",
    )
    parser.add_argument(
        "--service-name", default="my-service", help="service.name for the SDK snippets"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = runtime_from_args(args).config
    endpoint = (args.endpoint or default_endpoint(config)).rstrip("/")
    if args.target == "otel-collector":
        emit(collector_config(endpoint, config))
    else:
        emit(sdk_environment(args.target, endpoint, args.service_name, config))
    return 0


def default_endpoint(config: Config) -> str:
    host, _, port = str(config.get("server.listen_addr")).rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "*"):
        host = "localhost"
    return f"http://{host}:{port}"


def collector_config(endpoint: str, config: Config) -> str:
    """An OpenTelemetry Collector config: OTLP/gRPC in, otlphttp (protobuf, zstd) out.

    Batching happens in the exporter's ``sending_queue.batch`` (exporterhelper), which replaces
    the deprecated ``batch`` processor; the queue also holds requests until the server answers.
    """
    auth_ext, auth_use, headers = "", "", ""
    if config.get("auth.bearer.enabled"):
        headers = f'    headers:\n      authorization: "Bearer ${{env:{BEARER_VAR}}}"\n'
    elif config.get("auth.basic.enabled"):
        user = config.get("auth.basic.username")
        auth_ext = (
            "extensions:\n"
            "  basicauth/otlp2parquet:\n"
            "    client_auth:\n"
            f'      username: "{user}"\n'
            f'      password: "${{env:{PASSWORD_VAR}}}"\n\n'
        )
        auth_use = "    auth:\n      authenticator: basicauth/otlp2parquet\n"
    pipelines = "".join(
        f"    {signal}:\n      receivers: [otlp]\n      exporters: [otlphttp/otlp2parquet]\n"
        for signal in ("logs", "traces", "metrics")
    )
    service = "service:\n" + ("  extensions: [basicauth/otlp2parquet]\n" if auth_ext else "")
    return (
        "# OpenTelemetry Collector: receive OTLP/gRPC on :4317, send to otlp2parquet over\n"
        "# OTLP/HTTP (protobuf, zstd), batched in the exporter's sending queue.\n"
        "# Run with: otelcol-contrib --config this-file.yaml\n"
        "receivers:\n"
        "  otlp:\n"
        "    protocols:\n"
        "      grpc:\n"
        "        endpoint: 0.0.0.0:4317\n\n"
        f"{auth_ext}"
        "exporters:\n"
        "  otlphttp/otlp2parquet:\n"
        f"    endpoint: {endpoint}\n"
        "    encoding: proto\n"
        "    compression: zstd\n"
        f"{headers}{auth_use}"
        "    retry_on_failure:\n"
        "      enabled: true\n"
        "    sending_queue:\n"
        "      enabled: true\n"
        "      sizer: requests\n"
        "      queue_size: 1000\n"
        "      batch:\n"
        "        flush_timeout: 5s\n"
        "        sizer: items\n"
        "        min_size: 8192\n"
        "        max_size: 16384\n\n"
        f"{service}"
        "  pipelines:\n"
        f"{pipelines}"
    ).rstrip("\n")


def sdk_environment(target: str, endpoint: str, service: str, config: Config) -> str:
    """The standard OTEL_* variables, plus how to run an app with them."""
    lines = [
        f"# OpenTelemetry {'Python' if target == 'python' else 'Node.js'} SDK → otlp2parquet",
        f"export OTEL_SERVICE_NAME={service}",
        f"export OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}",
        "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        "export OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
        "export OTEL_TRACES_EXPORTER=otlp",
        "export OTEL_METRICS_EXPORTER=otlp",
        "export OTEL_LOGS_EXPORTER=otlp",
    ]
    if config.get("auth.bearer.enabled"):
        lines.append(f'export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20${BEARER_VAR}"')
    elif config.get("auth.basic.enabled"):
        user = config.get("auth.basic.username")
        lines.append(
            "export OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Basic%20$(printf '%s:%s' "
            f'\'{user}\' "${PASSWORD_VAR}" | base64 -w0)"'
        )
    if target == "python":
        lines += [
            "export OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true",
            "# pip install opentelemetry-distro opentelemetry-exporter-otlp-proto-http",
            "# opentelemetry-instrument python your_app.py",
        ]
    else:
        lines += [
            "# npm install @opentelemetry/api @opentelemetry/auto-instrumentations-node",
            "# node --require @opentelemetry/auto-instrumentations-node/register your_app.js",
        ]
    return "\n".join(lines)
