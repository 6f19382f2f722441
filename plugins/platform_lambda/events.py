"""AWS Lambda HTTP events ↔ the transport-neutral ``OtlpHttp`` request and ``Response``.

Event kinds (AWS documents each shape):

- ``v2``: payload format 2.0, sent by Lambda Function URLs and API Gateway HTTP APIs: ``rawPath``,
  ``requestContext.http.method``, lower-cased ``headers`` (repeated headers comma-joined).
- ``rest``: payload format 1.0, sent by API Gateway REST APIs (and HTTP APIs set to 1.0):
  ``httpMethod``, ``path``, ``headers`` and ``multiValueHeaders`` in the client's case.
- ``alb``: an Application Load Balancer target group: ``requestContext.elb``; either ``headers``
  or, with multi-value headers enabled on the target group, only ``multiValueHeaders``.

Responses follow what each kind requires: ALB wants ``statusDescription``; binary bodies
(protobuf) travel base64-encoded with ``isBase64Encoded``; multi-value headers are answered as
``multiValueHeaders`` when the event used them (ALB rejects the other form when they are on).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import DecodeError
from otlp2parquet.http.bodies import check_size

if TYPE_CHECKING:
    from otlp2parquet.http.responses import Response

#: Response media types sent as text; everything else (protobuf) is base64-encoded.
TEXT_TYPES = ("application/json", "text/")


class EventError(ValueError):
    """The invocation event is not an HTTP event this adapter understands."""


@dataclass
class HttpEvent:
    """One HTTP request taken from a Lambda event."""

    kind: str  # v2 | rest | alb
    method: str
    path: str
    headers: dict[str, str]
    raw_body: str = ""
    base64_body: bool = False
    multi_value: bool = False
    context: dict[str, Any] = field(default_factory=dict)

    def read(self, limit: int) -> bytes:
        """The body as sent (base64 undone), refused with ``PayloadTooLarge`` past ``limit``."""
        # base64 inflates by 4/3: refuse an oversized body before decoding it.
        check_size(len(self.raw_body) * 3 // 4 if self.base64_body else 0, limit, "as sent")
        if self.base64_body:
            try:
                data = base64.b64decode(self.raw_body, validate=True)
            except (binascii.Error, ValueError):
                raise DecodeError(
                    "the event's body is marked isBase64Encoded but is not valid base64"
                ) from None
        else:
            data = self.raw_body.encode("utf-8")
        check_size(len(data), limit, "as sent")
        return data


def parse_event(event: Any) -> HttpEvent:
    """Recognise the event kind; raise ``EventError`` for anything that is not HTTP."""
    if not isinstance(event, Mapping):
        raise EventError(f"expected an HTTP event object, got {type(event).__name__}")
    context = event.get("requestContext") or {}
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise EventError("the event's body must be a string")
    b64 = bool(event.get("isBase64Encoded"))
    if isinstance(context.get("http"), Mapping) and (
        event.get("version") == "2.0" or "rawPath" in event
    ):
        method = str(context["http"].get("method") or "GET")
        path = _strip_stage(
            str(event.get("rawPath") or context["http"].get("path") or "/"), context
        )
        headers = _single(event.get("headers"))
        return HttpEvent("v2", method, path, headers, body, b64, False, dict(context))
    if "httpMethod" in event:
        kind = "alb" if "elb" in context else "rest"
        multi = event.get("multiValueHeaders")
        headers = _joined(multi)
        headers.update(_single(event.get("headers")))
        # ALB with multi-value headers on sends only multiValueHeaders, and wants them back.
        answer_multi = bool(multi) and (kind == "rest" or not event.get("headers"))
        path = str(event.get("path") or "/")
        return HttpEvent(
            kind, str(event["httpMethod"]), path, headers, body, b64, answer_multi, dict(context)
        )
    raise EventError(
        "not an HTTP event: expected a Lambda Function URL, API Gateway (payload 1.0 or 2.0) or "
        "Application Load Balancer event"
    )


def _strip_stage(path: str, context: Mapping[str, Any]) -> str:
    """HTTP APIs put a named stage in ``rawPath`` (``/prod/v1/logs``); routes do not have it."""
    stage = context.get("stage")
    if stage and stage != "$default":
        prefix = f"/{stage}"
        if path == prefix or path.startswith(prefix + "/"):
            return path[len(prefix) :] or "/"
    return path


def _single(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items() if v is not None}


def _joined(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        return {}
    out: dict[str, str] = {}
    for name, values in headers.items():
        items = values if isinstance(values, list) else [values]
        out[str(name).lower()] = ", ".join(str(v) for v in items if v is not None)
    return out


def is_text(content_type: str | None) -> bool:
    mtype = (content_type or "").split(";", 1)[0].strip().lower()
    return any(mtype == t or (t.endswith("/") and mtype.startswith(t)) for t in TEXT_TYPES)


def to_result(event: HttpEvent, response: Response) -> dict[str, Any]:
    """The Lambda result for ``response`` in the shape ``event``'s kind requires."""
    text = is_text(response.header("content-type"))
    binary = bool(response.body) and not text
    body = (
        base64.b64encode(response.body).decode("ascii")
        if binary
        else response.body.decode("utf-8", errors="replace")
    )
    result: dict[str, Any] = {
        "statusCode": response.status,
        "body": body,
        "isBase64Encoded": binary,
    }
    if event.kind == "alb":
        result["statusDescription"] = f"{response.status} {_phrase(response.status)}"
    grouped: dict[str, list[str]] = {}
    for name, value in response.headers:
        grouped.setdefault(name, []).append(value)
    if event.multi_value:
        result["multiValueHeaders"] = grouped
    else:
        result["headers"] = {name: ", ".join(values) for name, values in grouped.items()}
    return result


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
