"""No secret reaches a log line or an error response: known values (x-secret config values,
the SDKs' credential variables, basic auth as it travels) and credential-carrying fields
(Authorization, X-Amz-Security-Token, SigV4 Credential/Signature, AccountKey, SAS sig) are
masked in messages, exceptions and extra fields, in text and JSON logs."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from otlp2parquet.config.layers import MASK
from otlp2parquet.errors import StorageError
from otlp2parquet.http.responses import error_response
from otlp2parquet.telemetry.logs import JsonFormatter
from otlp2parquet.telemetry.redaction import RedactingFilter, Redactor

TOKEN = "tok-3f9a1c7e55b2"
KEY_ID = "AKIAEXAMPLE123456"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
SESSION = "IQoJb3JpZ2luX2VjEXAMPLESESSION=="
BOTOCORE_LINE = (
    "Sending http request: <AWSPreparedRequest stream_output=False, method=PUT, "
    "url=http://127.0.0.1:9000/bucket/logs/x.parquet, headers={'User-Agent': b'aiobotocore', "
    f"'X-Amz-Security-Token': b'{SESSION}', 'Authorization': b'AWS4-HMAC-SHA256 "
    f"Credential={KEY_ID}/20261203/us-east-1/s3/aws4_request, SignedHeaders=host, "
    "Signature=9f86d081884c7d659a2feaa0c55ad015'}>"
)


@pytest.fixture
def capture() -> Iterator[Callable[[Redactor, bool], tuple[logging.Logger, io.StringIO]]]:
    made: list[logging.Logger] = []

    def make(redactor: Redactor, as_json: bool = False) -> tuple[logging.Logger, io.StringIO]:
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(JsonFormatter() if as_json else logging.Formatter("%(message)s"))
        handler.addFilter(RedactingFilter(redactor))
        logger = logging.getLogger(f"redaction-test-{len(made)}")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        made.append(logger)
        return logger, out

    yield make
    for logger in made:
        logger.handlers.clear()


@pytest.mark.parametrize("as_json", [False, True])
def test_botocore_request_lines_lose_every_credential(capture: Any, as_json: bool) -> None:
    logger, out = capture(Redactor(), as_json)  # no known values: the patterns alone
    logger.debug("%s", BOTOCORE_LINE)
    text = out.getvalue()
    for secret in (SESSION, KEY_ID, "9f86d081884c7d659a2feaa0c55ad015"):
        assert secret not in text
    assert "url=http://127.0.0.1:9000/bucket/logs/x.parquet" in text  # the rest stays
    message = json.loads(text)["message"] if as_json else text
    assert f"'X-Amz-Security-Token': b'{MASK}'" in message
    assert f"'Authorization': b'{MASK}'" in message  # the whole value, signature and all


def test_known_values_are_masked_in_messages_exceptions_and_extra_fields(capture: Any) -> None:
    logger, out = capture(Redactor([TOKEN, SECRET]), True)
    try:
        raise StorageError(f"cannot sign with {SECRET}")
    except StorageError:
        logger.exception("put failed for token %s", TOKEN, extra={"detail": f"x{SECRET}y"})
    entry = json.loads(out.getvalue())
    assert entry["message"] == f"put failed for token {MASK}"
    assert entry["detail"] == f"x{MASK}y"
    assert SECRET not in entry["exception"] and f"cannot sign with {MASK}" in entry["exception"]


def test_header_forms_and_sas_and_account_keys(capture: Any) -> None:
    logger, out = capture(Redactor())
    logger.info("authorization: Bearer abc.def.ghi")
    logger.info("{'Authorization': 'Basic dXNlcjpwYXNz'}")
    logger.info("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5;")
    logger.info("GET https://a.blob.core.windows.net/c?sv=2024&sig=abc%2Fdef&se=x")
    text = out.getvalue()
    for secret in ("abc.def.ghi", "dXNlcjpwYXNz", "c2VjcmV0a2V5", "abc%2Fdef"):
        assert secret not in text, text
    assert "AccountName=a" in text and "se=x" in text


def test_from_config_covers_secret_keys_sdk_variables_and_basic_auth(
    make_runtime: Callable[..., Any],
) -> None:
    runtime = make_runtime(
        storage__backend="s3",
        storage__s3__bucket="b",
        storage__s3__secret_access_key=SECRET,
        auth__bearer__token=TOKEN,
        auth__basic__username="ops",
        auth__basic__password="pa55word",
    )
    redactor = Redactor.from_config(runtime.config, {"AWS_SESSION_TOKEN": SESSION})
    basic = base64.b64encode(b"ops:pa55word").decode()
    text = redactor.redact(f"{SECRET} {TOKEN} {SESSION} pa55word {basic} ops b")
    assert text == " ".join([MASK] * 5 + ["ops", "b"])


def test_error_responses_mask_secrets() -> None:
    exc = StorageError(f"bucket refused key {SECRET}")
    body = error_response(exc, "application/json", Redactor([SECRET])).body
    assert SECRET.encode() not in body and MASK.encode() in body
