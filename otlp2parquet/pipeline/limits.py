"""``request.max_records``: how many records (log records, spans, data points) one request may
hold. A request over it is refused with 413 before it is mapped, so that a body of millions of
tiny records cannot cost hundreds of times its size in memory.

Decoders that can count before they parse (``count_records(body, signal)``, the protobuf
decoder) are asked first, when the body is long enough to hold that many records, so the
request is refused before it is parsed; the others are counted once decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otlp2parquet.errors import PayloadTooLarge

#: (resource list, scope list, record list) per signal; metrics: records are data points.
_PATHS = {
    "logs": ("resource_logs", "scope_logs", "log_records"),
    "traces": ("resource_spans", "scope_spans", "spans"),
    "metrics": ("resource_metrics", "scope_metrics", "metrics"),
}
_METRIC_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


def count_records(signal: str, requests: Sequence[Any]) -> int:
    """The records of decoded ``requests`` (protobuf messages or objects with their read API)."""
    resources, scopes, records = _PATHS[signal]
    total = 0
    for request in requests:
        for resource in getattr(request, resources, ()):
            for scope in getattr(resource, scopes, ()):
                items = getattr(scope, records, ())
                total += sum(map(_points, items)) if signal == "metrics" else len(items)
    return total


def _points(metric: Any) -> int:
    count = 0
    for kind in _METRIC_KINDS:
        data = getattr(metric, kind, None)
        if data is not None:
            count += len(getattr(data, "data_points", ()))
    return count


class RecordLimit:
    """Refuses requests of more than ``max_records`` records with ``PayloadTooLarge``."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records

    def check(self, count: int) -> None:
        if count > self.max_records:
            raise PayloadTooLarge(
                f"request holds {count} records, more than the limit of {self.max_records} "
                "(request.max_records)"
            )

    def decode(self, decoder: Any, body: bytes, signal: str) -> list[Any]:
        """``decoder.decode(body, signal)``, refused when over the limit (before decoding where
        the decoder can count)."""
        counted = self.check_body(decoder, body, signal)
        requests: list[Any] = decoder.decode(body, signal)
        if not counted:
            self.check_requests(signal, requests)
        return requests

    def check_body(self, decoder: Any, body: bytes, signal: str) -> bool:
        """Count ``body`` before it is decoded where ``decoder`` can; whether it could."""
        counter = getattr(decoder, "count_records", None)
        if counter is None or signal not in _PATHS:
            return False
        if len(body) <= 2 * self.max_records:  # a protobuf record is two bytes at least
            return True
        count = counter(body, signal)
        if count is None:
            return False
        self.check(count)
        return True

    def check_requests(self, signal: str, requests: Sequence[Any]) -> None:
        if signal in _PATHS:
            self.check(count_records(signal, requests))
