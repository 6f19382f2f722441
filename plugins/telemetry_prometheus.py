"""Counts every written Parquet file for self-telemetry (``otlp2parquet_files_written_total``,
``_bytes_written_total``, ``_rows_written_total`` and ``_catalog_files_total`` per table).

An ordinary ``on_batch_written`` observer: the metrics themselves live in the core
(``otlp2parquet.telemetry.metrics``) and count only once the server has enabled them, so this plugin
costs nothing on Lambda, Cloudflare or the CLI. Disable it with
``[plugins] disable = ["telemetry_prometheus"]``.
"""

from __future__ import annotations

from otlp2parquet import hookimpl
from otlp2parquet.telemetry import metrics as telemetry
from otlp2parquet.types import WrittenFile


@hookimpl
def on_batch_written(result: WrittenFile) -> None:
    telemetry.file_written(result)
