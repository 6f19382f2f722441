"""otlp2parquet: OpenTelemetry (OTLP) logs, metrics and traces to Parquet on object storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otlp2parquet.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    """``hookimpl`` is imported (with pluggy) on first use, so ``otlp2parquet --version`` and
    ``--help`` never load pluggy."""
    if name == "hookimpl":
        from otlp2parquet.hookspecs import hookimpl

        globals()["hookimpl"] = hookimpl
        return hookimpl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
