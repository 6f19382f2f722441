"""Unknown ``OTLP2PARQUET_*`` variables: a warning, or an error with ``strict`` — and always an
error when the name looks like a credential, since the client would silently fall back to
another credential chain (the AWS one for S3) instead of using it."""

from __future__ import annotations

import difflib
import re

from otlp2parquet.errors import ConfigError

#: Words that make a variable name look like a credential.
CREDENTIAL_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL")
_WORD = re.compile(r"[A-Z0-9]+")


def looks_like_credential(name: str) -> bool:
    """True when one ``_``-separated word of ``name`` starts with a credential word."""
    words = _WORD.findall(name.upper())
    return any(word.startswith(CREDENTIAL_WORDS) for word in words[1:])


def check_unknown(unknown: list[str], accepted: list[str], strict: bool) -> str | None:
    """Raise ConfigError for a credential-like unknown variable (naming the accepted
    credential variables), or for any unknown one with ``strict``; else the warning text."""
    for name in unknown:
        if looks_like_credential(name):
            raise ConfigError(_credential_message(name, accepted))
    if not unknown:
        return None
    message = f"unknown environment variable(s) {', '.join(unknown)}: no such configuration key"
    if strict:
        raise ConfigError(message + " (strict = true makes this an error)")
    return message


def _credential_message(name: str, accepted: list[str]) -> str:
    service = name.split("_")[1] if name.count("_") > 1 else ""
    same = [a for a in accepted if a.split("_")[1:2] == [service]]
    listed = sorted(same or accepted)
    hint = difflib.get_close_matches(name, accepted, n=1, cutoff=0.6)
    fix = f"did you mean {hint[0]}? " if hint else ""
    return (
        f"environment variable {name} looks like a credential but sets no configuration key, "
        "so the storage client would fall back to another credential source; "
        f"{fix}accepted: {', '.join(listed)}"
    )
