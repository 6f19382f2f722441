"""``GET /metrics``: the server's own metrics in the Prometheus text format."""

from __future__ import annotations

import falcon

from otlp2parquet.errors import NotAvailable
from otlp2parquet.http.errors import HttpError
from otlp2parquet.http.otlp import OtlpHttp

METRICS_PATH = "/metrics"


class MetricsResource:
    """Answers GET (and HEAD) from the handler's ``Telemetry``; other methods get the core's
    405 with a Status body."""

    def __init__(self, handler: OtlpHttp) -> None:
        self.handler = handler

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            content_type, body = self.handler.telemetry.render()
        except NotAvailable as exc:
            self._error(req, resp, exc)
            return
        resp.content_type = content_type
        resp.data = body

    on_head = on_get

    def on_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        message = f"method {req.method} is not allowed on {METRICS_PATH}; use GET"
        self._error(req, resp, HttpError(405, message, [("Allow", "GET")]))

    on_post = on_put = on_patch = on_delete = on_options = on_request

    def _error(self, req: falcon.Request, resp: falcon.Response, exc: Exception) -> None:
        response = self.handler.error(exc, req.headers)
        resp.status = response.status
        for name, value in response.headers:
            resp.append_header(name, value)
        resp.data = response.body
