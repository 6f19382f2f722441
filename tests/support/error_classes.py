"""Every error class that ``otlp2parquet.errors`` defines, for the per-transport table tests."""

from __future__ import annotations

import inspect

from otlp2parquet import errors


def error_classes() -> list[type[errors.Otlp2ParquetError]]:
    """The classes of the core's error tree, base included, found by introspection."""
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.Otlp2ParquetError) and cls.__module__ == errors.__name__
    ]
