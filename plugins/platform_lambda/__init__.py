"""The ``lambda`` platform: OTLP/HTTP on AWS Lambda behind a Function URL, an API Gateway HTTP or
REST API, or an Application Load Balancer.

Handler (deployments name it; keep it stable): ``otlp2parquet.plugins.platform_lambda.handler``.

Cold start: importing this module loads no pyarrow, pyiceberg, falcon or waitress. The first
invocation bootstraps (config, plugins, pipeline) and the runtime is kept for warm invocations
on the container's ``Handler`` object (``CONTAINER``, created at import); a bootstrap that fails
is answered with a 503 ``Status`` and retried on the next invocation.
Routes, statuses and OTLP response bodies come from the shared ``OtlpHttp`` core, so they are the
server's. Platform defaults (below ``config.toml``): S3 storage in bucket ``otlp-logs`` and region
``AWS_REGION`` (else ``us-east-1``), a 6 MiB payload limit (Lambda's synchronous invocation
limit), and ``batch.enabled = false``: every request's files are written before the invocation
returns, so nothing waits in a frozen container. Set ``batch.enabled = true`` to buffer across
invocations anyway (the age flush runs only while the container is thawed).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl
from otlp2parquet.errors import ConfigError, Otlp2ParquetError, Unavailable

from .events import EventError, HttpEvent, parse_event, to_result

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.http.otlp import OtlpHttp
    from otlp2parquet.plugin.registry import Register

log = logging.getLogger(__name__)

HANDLER = "otlp2parquet.plugins.platform_lambda.handler"
DETECT_ENV = "AWS_LAMBDA_FUNCTION_NAME"
DEFAULT_BUCKET = "otlp-logs"
DEFAULT_REGION = "us-east-1"
#: Lambda's synchronous invocation payload limit.
PAYLOAD_LIMIT = 6 * 1024 * 1024


def platform_defaults(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Lambda's defaults, ranked above declared defaults and below config.toml."""
    env = os.environ if env is None else env
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    return {
        "storage": {"backend": "s3", "s3": {"bucket": DEFAULT_BUCKET, "region": region}},
        "request": {"max_payload_bytes": PAYLOAD_LIMIT},
        "batch": {"enabled": False},
    }


class LambdaPlatform:
    """Lambda calls ``handler``; there is no process of ours to run."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def run(self, runtime: Runtime) -> int:
        raise ConfigError(
            f"the lambda platform runs inside AWS Lambda through the handler {HANDLER}; "
            'to serve HTTP here set platform = "server" (or unset AWS_LAMBDA_FUNCTION_NAME)'
        )


class LambdaApp:
    """One bootstrapped runtime and its OTLP/HTTP handler, kept across warm invocations by the
    container's ``Handler``."""

    def __init__(self, runtime: Runtime) -> None:
        from otlp2parquet.http.otlp import OtlpHttp

        self.runtime = runtime
        pipeline = runtime.pipeline()
        self.http: OtlpHttp = OtlpHttp.from_config(runtime.config, pipeline, runtime.telemetry)
        if runtime.config.get("batch.enabled"):
            pipeline.start()

    def invoke(self, request: HttpEvent) -> dict[str, Any]:
        response = self.http.handle(request.method, request.path, request.headers, request.read)
        return to_result(request, response)

    def close(self) -> None:
        self.runtime.pipeline().close()


class Handler:
    """The function's entry point and the app it keeps: bootstrapped on the first invocation,
    reused by every warm one; a bootstrap that fails is answered 503 and retried next time."""

    def __init__(self) -> None:
        self._app: LambdaApp | None = None
        self._lock = threading.Lock()

    def app(self, env: Mapping[str, str] | None = None) -> LambdaApp:
        """Bootstrap once per container (on the first invocation)."""
        with self._lock:
            if self._app is None:
                from otlp2parquet.assembly import bootstrap

                env = dict(os.environ if env is None else env)
                env.setdefault(DETECT_ENV, "otlp2parquet")  # the handler is Lambda by definition
                from otlp2parquet.telemetry import redaction

                runtime = bootstrap(env=env)
                # the Lambda runtime owns the log handlers: mask secrets on each of them
                redaction.install(redaction.Redactor.from_config(runtime.config, env))
                self._app = LambdaApp(runtime)
                log.info("bootstrapped the lambda platform", extra={"platform": "lambda"})
            return self._app

    def reset(self) -> None:
        """Forget the kept app (tests; a new configuration), flushing what it buffered."""
        with self._lock:
            app, self._app = self._app, None
        if app is not None:
            app.close()

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        """One HTTP event in, one HTTP result out."""
        try:
            request = parse_event(event)
        except EventError as exc:
            log.error("cannot handle this invocation: %s", exc)
            raise
        try:
            app = self.app()
        except Otlp2ParquetError as exc:
            # Like a server that is down: clients keep the data and retry (503), and the
            # details stay in the function's log rather than in a public response.
            from otlp2parquet.http.responses import error_response

            log.error("cannot start otlp2parquet on Lambda: %s", exc)
            unavailable = Unavailable("otlp2parquet cannot start; the function's log says why", 30)
            content_type = request.headers.get("content-type")
            return to_result(request, error_response(unavailable, content_type))
        return app.invoke(request)


#: This container's handler, created at import; it keeps the app across warm invocations.
CONTAINER = Handler()


def get_app(env: Mapping[str, str] | None = None) -> LambdaApp:
    """The container's app, bootstrapped on the first invocation."""
    return CONTAINER.app(env)


def reset() -> None:
    """Forget the container's app, flushing what it buffered."""
    CONTAINER.reset()


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (``HANDLER``): one HTTP event in, one HTTP result out."""
    return CONTAINER(event, context)


@hookimpl
def register_platforms(register: Register) -> None:
    register(
        name="lambda",
        factory=LambdaPlatform,
        section="lambda",
        detect_env=(DETECT_ENV,),
        cold_start=True,
        defaults=platform_defaults(),
    )
