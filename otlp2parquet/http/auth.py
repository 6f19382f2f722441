"""Optional authentication of the ingest endpoints: HTTP basic and/or a bearer token.

Secrets come from config (``auth.basic.password``, ``auth.bearer.token``), normally through
``OTLP2PARQUET_BASIC_AUTH_PASSWORD`` and ``OTLP2PARQUET_AUTH_BEARER_TOKEN``. Comparisons use
``hmac.compare_digest``; enabling a scheme with an empty secret is a ``ConfigError``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from otlp2parquet.config.layers import Config
from otlp2parquet.errors import ConfigError

REALM = "otlp2parquet"


@dataclass(frozen=True)
class Authenticator:
    """Accepts a request when any enabled scheme matches its ``Authorization`` header."""

    basic: tuple[bytes, bytes] | None = None  # (username, password), UTF-8
    bearer: bytes | None = None

    @classmethod
    def from_config(cls, config: Config) -> Authenticator | None:
        """None when no scheme is enabled; raises ConfigError for an enabled, empty secret."""
        basic = bearer = None
        if config.get("auth.basic.enabled"):
            user = str(config.get("auth.basic.username") or "")
            password = str(config.get("auth.basic.password") or "")
            _require(config, "auth.basic.username", user, "OTLP2PARQUET_BASIC_AUTH_USERNAME")
            _require(config, "auth.basic.password", password, "OTLP2PARQUET_BASIC_AUTH_PASSWORD")
            basic = (user.encode(), password.encode())
        if config.get("auth.bearer.enabled"):
            token = str(config.get("auth.bearer.token") or "")
            _require(config, "auth.bearer.token", token, "OTLP2PARQUET_AUTH_BEARER_TOKEN")
            bearer = token.encode()
        if basic is None and bearer is None:
            return None
        return cls(basic, bearer)

    def check(self, authorization: str | None) -> bool:
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "bearer" and self.bearer is not None:
            return hmac.compare_digest(credentials.encode(), self.bearer)
        if scheme == "basic" and self.basic is not None:
            try:
                decoded = base64.b64decode(credentials, validate=True)
            except (binascii.Error, ValueError):
                return False
            user, sep, password = decoded.partition(b":")
            user_ok = hmac.compare_digest(user, self.basic[0])
            password_ok = hmac.compare_digest(password, self.basic[1])
            return bool(sep) and user_ok and password_ok
        return False

    @property
    def challenges(self) -> list[str]:
        """``WWW-Authenticate`` values for a 401."""
        out = []
        if self.basic is not None:
            out.append(f'Basic realm="{REALM}", charset="UTF-8"')
        if self.bearer is not None:
            out.append(f'Bearer realm="{REALM}"')
        return out


def _require(config: Config, key: str, value: str, variable: str) -> None:
    if not value:
        scheme = key.rsplit(".", 1)[0]
        raise ConfigError(
            f"{scheme}.enabled is true (from {config.origin(scheme + '.enabled')}) but '{key}' "
            f"is empty; set {variable} or turn {scheme} off"
        )
