"""The OTLP/HTTP table of ``otlp2parquet.http.errors``: every class of the core's error tree has
an HTTP status, a subclass answers like its base (MRO), and a class without an entry answers a
logged 500. The core's errors carry no transport knowledge."""

from __future__ import annotations

import json
import logging

import pytest

from otlp2parquet import errors
from otlp2parquet.http.errors import HTTP_STATUS, HttpError, status_of
from otlp2parquet.http.responses import error_response
from support.error_classes import error_classes

EXPECTED = {
    "Otlp2ParquetError": 500,
    "ConfigError": 500,
    "PluginError": 500,
    "MissingExtra": 500,
    "DecodeError": 400,
    "Unauthenticated": 401,
    "PayloadTooLarge": 413,
    "UnsupportedMediaType": 415,
    "Backpressure": 429,
    "NotAvailable": 501,
    "StorageError": 503,
    "SpoolFull": 503,
    "CatalogError": 503,
    "Unavailable": 503,
}


def test_every_error_class_has_an_http_status() -> None:
    classes = error_classes()
    assert {cls.__name__ for cls in classes} == set(EXPECTED)
    assert {cls.__name__: HTTP_STATUS[cls] for cls in classes} == EXPECTED


def test_the_core_errors_know_no_transport() -> None:
    for cls in error_classes():
        assert not hasattr(cls, "http_status"), cls
        assert not hasattr(cls, "grpc_code"), cls
    assert "http" not in errors.__dict__ and "grpc" not in errors.__dict__


class ThirdPartyDecodeError(errors.DecodeError):
    pass


class ThirdPartyFull(errors.SpoolFull):
    pass


def test_a_subclass_answers_like_its_base() -> None:
    assert status_of(ThirdPartyDecodeError("bad")) == 400
    response = error_response(ThirdPartyFull("spool full", retry_after=7.2), None)
    assert response.status == 503
    assert response.header("Retry-After") == "8"
    assert json.loads(response.body)["message"] == "spool full"


class Stray(Exception):
    pass


def test_a_class_without_an_entry_answers_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="otlp2parquet.http.errors"):
        assert status_of(Stray("?")) == 500
    (record,) = caplog.records
    assert "no HTTP status for Stray" in record.getMessage()


def test_http_errors_carry_their_own_status_and_headers() -> None:
    response = error_response(HttpError(405, "use POST", [("Allow", "POST")]), None)
    assert (response.status, response.header("Allow")) == (405, "POST")
    assert response.header("Retry-After") is None


@pytest.mark.parametrize(
    ("exc", "status", "retry_after"),
    [
        (errors.Unavailable("draining"), 503, "5"),
        (errors.Unavailable("cannot start", retry_after=30), 503, "30"),
        (errors.Backpressure("full", retry_after=0.2), 429, "1"),
        (errors.Unauthenticated("no token"), 401, None),
        (errors.NotAvailable("off"), 501, None),
    ],
)
def test_retry_after_goes_with_429_and_503(
    exc: errors.Otlp2ParquetError, status: int, retry_after: str | None
) -> None:
    response = error_response(exc, None)
    assert response.status == status
    assert response.header("Retry-After") == retry_after
