"""What runs beside the OTLP/HTTP server in the same process: the OTLP/gRPC receiver and
self-telemetry (the metrics behind ``GET /metrics`` and their optional export into the lake).

The receiver comes from the ``grpc`` platform component, looked up in the registry, so this
package never imports that plugin (or grpcio) itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.pipeline.core import Pipeline
    from otlp2parquet.telemetry.self_export import SelfExporter

log = logging.getLogger(__name__)


class Companions:
    """Started before the HTTP loop; drained with it; stopped before the final flush."""

    def __init__(self, runtime: Runtime, pipeline: Pipeline, options: dict[str, Any]) -> None:
        self.runtime = runtime
        self.pipeline = pipeline
        self.options = options
        self.grpc: Any = None
        self.exporter: SelfExporter | None = None

    def start(self) -> None:
        """Enable metrics, bind the gRPC port, start the self-export; ConfigError on failure."""
        config = self.runtime.config
        telemetry = self.runtime.telemetry
        self_export = bool(config.get("telemetry.self_telemetry"))
        if (config.get("telemetry.metrics_endpoint") or self_export) and telemetry.enable():
            telemetry.watch(self.pipeline)
        if self.options.get("grpc_enabled"):
            try:
                component = self.runtime.registry.get("platform", "grpc")
            except PluginError as exc:
                raise ConfigError(
                    f"server.grpc_enabled is true (from {config.origin('server.grpc_enabled')}) "
                    f"but the grpc platform plugin is not loaded: {exc}"
                ) from None
            platform = component.factory(config.section(component.section))
            self.grpc = platform.receiver(self.runtime, self.pipeline)
            self.grpc.start()
        if self_export and telemetry.enabled():
            from otlp2parquet.telemetry.self_export import SelfExporter

            interval = float(config.get("telemetry.self_telemetry_interval_secs"))
            self.exporter = SelfExporter(self.pipeline, interval, telemetry)
            self.exporter.start()

    def drain(self, grace: float) -> None:
        """Refuse new gRPC calls and wait up to ``grace`` seconds for those in flight."""
        if self.grpc is not None:
            self.grpc.stop(grace)

    def stop(self) -> None:
        """Stop the self-export after one last snapshot (it lands in the final flush)."""
        if self.exporter is not None:
            self.exporter.stop()
            self.exporter = None
