"""Secrets never reach a log line or an error response.

Two nets: the values themselves (every ``x-secret`` config value, and the credentials the cloud
SDKs read from the environment) are masked wherever they appear, and so is whatever follows the
names that carry credentials in HTTP traffic (``Authorization``, ``X-Amz-Security-Token``, a
SigV4 ``Credential=``/``Signature=``, ``AccountKey=``, SAS signatures), which covers credentials
from sources otlp2parquet never sees (``~/.aws``, instance metadata). Library debug logging
(botocore dumps request headers at debug) goes through the same filter as ours.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from otlp2parquet.config.mask import MASK

if TYPE_CHECKING:
    from otlp2parquet.config.layers import Config

#: Variables the cloud SDKs read credentials from.
ENV_SECRETS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
)
#: Shorter values are not masked as text (they would mask ordinary words); config check and
#: the server refuse auth secrets this short anyway.
MIN_SECRET_LENGTH = 4
_HEADER_VALUE = r"""['"]?\s*[:=]\s*[bu]?['"]?"""
_PATTERNS = (
    # Authorization: Bearer x / Basic x / AWS4-HMAC-SHA256 Credential=..., in any quoting
    re.compile(r"(?i)(authorization" + _HEADER_VALUE + r")[^'\"\r\n]+"),
    re.compile(r"(?i)(x-amz-security-token" + _HEADER_VALUE + r")[^'\",\s}]+"),
    re.compile(r"(?i)(x-amz-credential=|credential=)[^/&,\s'\"]+"),
    re.compile(r"(?i)((?:x-amz-)?signature=)[0-9a-f]+"),
    re.compile(r"(?i)(accountkey=)[^;'\"\s]+"),
    re.compile(r"(?i)([?&]sig=)[^&'\"\s]+"),
)
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class Redactor:
    """Masks known secret values and credential-carrying fields in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        # longest first, so that a secret containing another is masked whole
        self.secrets = sorted(values, key=len, reverse=True)
        self._values = (
            re.compile("|".join(re.escape(s) for s in self.secrets)) if self.secrets else None
        )

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str]) -> Redactor:
        """Every secret of ``config`` and of the SDKs' credential variables in ``env``."""
        secrets = [config.get(path) for path in config.secret_paths()]
        secrets += [env.get(name, "") for name in ENV_SECRETS]
        user, password = config.get("auth.basic.username"), config.get("auth.basic.password")
        if password:  # as it travels in an Authorization header
            secrets.append(base64.b64encode(f"{user}:{password}".encode()).decode())
        return cls(str(value) for value in secrets if value)

    def redact(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(MASK, text)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda match: match.group(1) + MASK, text)
        return text


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record with its secrets masked: the message, the
    exception and stack text, and string ``extra`` fields."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # mismatched arguments: logging reports it itself
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _RESERVED and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def install(redactor: Redactor, logger: Any = None) -> None:
    """Put ``redactor`` on every handler of ``logger`` (the root logger), replacing one
    installed before."""
    root = logger if logger is not None else logging.getLogger()
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(redactor))
