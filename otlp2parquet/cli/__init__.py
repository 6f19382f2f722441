"""The ``otlp2parquet`` command line: main, output, one module per command."""
