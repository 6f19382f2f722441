"""The Worker keeps its app on an ``Isolate`` object created at import, not in a module list:
the first event bootstraps, the next ones reuse the app, a failed bootstrap is retried."""

from __future__ import annotations

from typing import Any

import pytest

from otlp2parquet.errors import ConfigError
from otlp2parquet.plugins.platform_cloudflare import worker
from otlp2parquet.plugins.platform_cloudflare.worker import Isolate


class Made:
    def __init__(self, env: Any) -> None:
        self.env = env


def test_the_first_event_bootstraps_and_the_next_reuse() -> None:
    isolate = Isolate()
    calls: list[Any] = []

    def factory(env: Any) -> Any:
        calls.append(env)
        return Made(env)

    app = isolate.get("env", factory)
    assert isolate.get("env", factory) is app
    assert calls == ["env"]
    isolate.reset()
    assert isolate.get("env", factory) is not app and len(calls) == 2


def test_a_failed_bootstrap_is_retried() -> None:
    isolate = Isolate()

    def broken(env: Any) -> Any:
        raise ConfigError("no bucket binding")

    with pytest.raises(ConfigError):
        isolate.get("env", broken)
    assert isolate.app is None
    assert isinstance(isolate.get("env", Made), Made)


def test_get_app_and_reset_use_the_isolates_holder() -> None:
    worker.reset()
    try:
        app = worker.get_app("env", Made)  # type: ignore[arg-type]
        assert worker.ISOLATE.app is app and worker.get_app("other", Made) is app  # type: ignore[arg-type]
    finally:
        worker.reset()
    assert worker.ISOLATE.app is None
