"""``create_app``: the falcon WSGI app. It only wires routes; the core answers them."""

from __future__ import annotations

import falcon

from otlp2parquet.http.otlp import PATHS, OtlpHttp

from .metrics import METRICS_PATH, MetricsResource
from .resources import OtlpHttpResource


def create_app(handler: OtlpHttp, metrics: bool = True) -> falcon.App:
    """Every OTLP/HTTP path, ``/metrics`` unless ``metrics`` is off, and a sink so unknown
    paths get the core's 404 too."""
    app = falcon.App(cors_enable=False)
    resource = OtlpHttpResource(handler)
    for path in PATHS:
        app.add_route(path, resource)
    if metrics:
        app.add_route(METRICS_PATH, MetricsResource(handler))
    app.add_sink(resource.on_request)
    return app
