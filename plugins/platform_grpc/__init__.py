"""The ``grpc`` platform: OTLP/gRPC (the Logs, Trace and Metrics services) on port 4317.

It normally runs beside the OTLP/HTTP server, in the same process and on the same pipeline:
``server.grpc_enabled = true`` or ``otlp2parquet serve --grpc-port 4317`` make the server
platform start it (through this registration, so neither plugin imports the other).
``platform = "grpc"`` runs it alone. grpcio is the optional extra ``otlp2parquet[grpc]``,
imported only when a receiver is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl
from otlp2parquet.errors import MissingExtra

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.pipeline.core import Pipeline
    from otlp2parquet.plugin.registry import Register

    from .receiver import GrpcReceiver


class GrpcPlatform:
    """Builds receivers for the server platform, or serves gRPC alone (``run``)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def receiver(self, runtime: Runtime, pipeline: Pipeline) -> GrpcReceiver:
        """A receiver on ``server.grpc_listen_addr`` feeding ``pipeline`` (not started)."""
        try:
            import grpc  # noqa: F401
        except ImportError:
            raise MissingExtra("grpcio", "grpc", "the OTLP/gRPC receiver") from None
        from .receiver import GrpcReceiver

        return GrpcReceiver.from_config(runtime.config, pipeline, self.options, runtime.telemetry)

    def run(self, runtime: Runtime) -> int:
        from .receiver import serve_alone

        # durable: replays what a previous run acknowledged but did not write
        return serve_alone(self.receiver(runtime, runtime.pipeline(durable=True)))


def factory(options: dict[str, Any]) -> GrpcPlatform:
    return GrpcPlatform(options)


@hookimpl
def register_platforms(register: Register) -> None:
    register(
        name="grpc",
        factory=factory,
        section="server",
        defaults={"storage": {"backend": "fs"}, "durability": {"enabled": True}},
    )
