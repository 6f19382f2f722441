"""Built-in plugins, shipped as ``otlp2parquet.plugins``: one concern per module, each using
only the public hooks and types."""
