"""The one falcon resource: hands each request to the shared OTLP/HTTP core."""

from __future__ import annotations

from typing import Any

import falcon

from otlp2parquet.http.otlp import OtlpHttp, read_limited


class OtlpHttpResource:
    """Any method on any path; the body is streamed only if the core asks for it, and never
    past ``request.max_payload_bytes``."""

    def __init__(self, handler: OtlpHttp) -> None:
        self.handler = handler

    def on_request(self, req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        def read(limit: int) -> bytes:
            return read_limited(req.bounded_stream.read, limit)

        response = self.handler.handle(req.method, req.path, req.headers, read)
        resp.status = response.status
        for name, value in response.headers:
            resp.append_header(name, value)
        resp.data = response.body

    on_get = on_head = on_post = on_put = on_patch = on_delete = on_options = on_request
