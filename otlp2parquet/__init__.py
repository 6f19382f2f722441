"""otlp2parquet: OpenTelemetry (OTLP) logs, metrics and traces to Parquet on object storage."""

from otlp2parquet.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
