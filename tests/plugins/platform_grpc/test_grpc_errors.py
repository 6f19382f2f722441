"""The OTLP/gRPC table of ``platform_grpc.errors``: every class of the core's error tree has a
status code chosen on gRPC's own terms, a subclass answers like its base (MRO), and a class
without an entry answers a logged INTERNAL."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import error_details_pb2

from otlp2parquet import errors
from otlp2parquet.plugins.platform_grpc.errors import GRPC_CODES, code_of
from otlp2parquet.plugins.platform_grpc.receiver import status_for
from support.error_classes import error_classes

Code = grpc.StatusCode
EXPECTED = {
    "Otlp2ParquetError": Code.INTERNAL,
    "ConfigError": Code.INTERNAL,
    "PluginError": Code.INTERNAL,
    "MissingExtra": Code.INTERNAL,
    "DecodeError": Code.INVALID_ARGUMENT,
    "PayloadTooLarge": Code.INVALID_ARGUMENT,
    "UnsupportedMediaType": Code.INVALID_ARGUMENT,
    "Unauthenticated": Code.UNAUTHENTICATED,
    "Backpressure": Code.RESOURCE_EXHAUSTED,
    "NotAvailable": Code.UNIMPLEMENTED,
    "StorageError": Code.UNAVAILABLE,
    "SpoolFull": Code.UNAVAILABLE,
    "CatalogError": Code.UNAVAILABLE,
    "Unavailable": Code.UNAVAILABLE,
}


def test_every_error_class_has_a_grpc_code() -> None:
    classes = error_classes()
    assert {cls.__name__ for cls in classes} == set(EXPECTED)
    assert {cls.__name__: GRPC_CODES[cls] for cls in classes} == EXPECTED


class ThirdPartyDecodeError(errors.DecodeError):
    pass


class ThirdPartyBackpressure(errors.Backpressure):
    pass


def test_a_subclass_answers_like_its_base() -> None:
    assert code_of(ThirdPartyDecodeError("bad")) == Code.INVALID_ARGUMENT
    status, retry = status_for(ThirdPartyBackpressure("full", retry_after=2.5))
    assert status.code == Code.RESOURCE_EXHAUSTED.value[0]
    assert retry is not None
    info = error_details_pb2.RetryInfo.FromString(retry)
    assert (info.retry_delay.seconds, info.retry_delay.nanos) == (2, 500_000_000)


class Stray(Exception):
    pass


def test_a_class_without_an_entry_answers_a_logged_internal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="otlp2parquet.plugins.platform_grpc.errors"):
        assert code_of(Stray("?")) == Code.INTERNAL
    (record,) = caplog.records
    assert "no gRPC status code for Stray" in record.getMessage()


def test_unavailable_without_a_delay_gets_the_default_retry_info() -> None:
    status, retry = status_for(errors.Unavailable("draining"))
    assert status.code == Code.UNAVAILABLE.value[0] and status.message == "draining"
    assert retry is not None
    assert error_details_pb2.RetryInfo.FromString(retry).retry_delay.seconds == 5
