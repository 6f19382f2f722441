"""Config values given to a test as keywords: ``storage__backend="memory"`` is
``storage.backend``, passed as a command-line layer."""

from __future__ import annotations

from typing import Any


def settings_layer(settings: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """``storage__backend="memory"`` → ``{"storage.backend": ("memory", "test")}``."""
    return {key.replace("__", "."): (value, "test") for key, value in settings.items()}
