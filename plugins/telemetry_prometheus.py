"""Counts every written Parquet file for self-telemetry (``otlp2parquet_files_written_total``,
``_bytes_written_total``, ``_rows_written_total`` and ``_catalog_files_total`` per table).

An ordinary ``on_batch_written`` observer, one per runtime: the runtime calls
``telemetry_observer`` with its ``Telemetry`` (``otlp2parquet.telemetry.metrics``) and registers
the ``FileCounter`` it returns as ``telemetry_prometheus.telemetry``. The metrics count only once
the server has enabled them, so this plugin costs nothing on Lambda, Cloudflare or the CLI.
Disable it with ``[plugins] disable = ["telemetry_prometheus"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from otlp2parquet import hookimpl

if TYPE_CHECKING:
    from otlp2parquet.telemetry.metrics import Telemetry
    from otlp2parquet.types import WrittenFile


class FileCounter:
    """Counts each written file into one runtime's ``Telemetry``."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    @hookimpl
    def on_batch_written(self, result: WrittenFile) -> None:
        self.telemetry.file_written(result)


def telemetry_observer(telemetry: Telemetry) -> FileCounter:
    return FileCounter(telemetry)
