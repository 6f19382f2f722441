"""The Lambda handler keeps its app on a ``Handler`` object created at import, not in module
globals: each object bootstraps once and reuses its app for warm invocations."""

from __future__ import annotations

from pathlib import Path

import pytest

from otlp2parquet.plugins import platform_lambda
from otlp2parquet.plugins.platform_lambda import Handler
from support.lambda_support import event, pb_logs

ENV = {"AWS_LAMBDA_FUNCTION_NAME": "otlp2parquet-test", "OTLP2PARQUET_STORAGE_BACKEND": "memory"}


@pytest.fixture(autouse=True)
def no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("OTLP2PARQUET_CONFIG", "OTLP2PARQUET_CONFIG_CONTENT"):
        monkeypatch.delenv(name, raising=False)


def test_each_handler_object_keeps_its_own_app() -> None:
    first, second = Handler(), Handler()
    try:
        app = first.app(ENV)
        assert first.app(ENV) is app  # warm: the same app, no second bootstrap
        assert second.app(ENV) is not app
        assert app.runtime.telemetry is not second.app(ENV).runtime.telemetry
    finally:
        first.reset()
        second.reset()


def test_reset_forgets_the_app() -> None:
    keeper = Handler()
    app = keeper.app(ENV)
    keeper.reset()
    try:
        assert keeper.app(ENV) is not app
    finally:
        keeper.reset()


def test_the_module_entry_points_use_the_containers_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    platform_lambda.reset()
    try:
        result = platform_lambda.handler(event("function_url", "/v1/logs", pb_logs()))
        assert result["statusCode"] == 200
        assert platform_lambda.get_app() is platform_lambda.CONTAINER.app()
    finally:
        platform_lambda.reset()


def test_the_runtime_log_handlers_mask_secrets_from_the_first_invocation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Lambda runtime owns the root log handlers (caplog's stands in for its
    LambdaLoggerHandler here); the handler puts the redaction filter on them at bootstrap."""
    import logging

    token = "lambda-bearer-token-0007"
    keeper = Handler()
    try:
        keeper.app({**ENV, "OTLP2PARQUET_AUTH_BEARER_ENABLED": "true",
                    "OTLP2PARQUET_AUTH_BEARER_TOKEN": token})  # fmt: skip
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("botocore.endpoint").debug("headers={'Authorization': b'%s'}", token)
        assert token not in caplog.text and "Authorization" in caplog.text
    finally:
        keeper.reset()
