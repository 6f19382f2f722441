"""``--output URL`` as config: the storage backend whose ``url_schemes`` meta lists the URL's
scheme, with the options its ``from_url`` meta reads from the rest of the URL. A path without a
scheme is a ``file`` URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.plugin.registry import Component, Registry

#: ``from_url`` meta: the URL after ``scheme://`` → the backend's options.
FromUrl = Callable[[str], dict[str, Any]]


def url_schemes(component: Component) -> tuple[str, ...]:
    return tuple(s.lower() for s in component.meta.get("url_schemes") or ())


def backend_for_scheme(registry: Registry, scheme: str) -> Component | None:
    for component in registry.all("storage_backend"):
        if scheme.lower() in url_schemes(component):
            return component
    return None


def storage_overrides(registry: Registry, url: str) -> dict[str, Any]:
    """``{"storage.backend": name, "storage.<name>.<key>": value, ...}`` for ``url``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "file", url
    component = backend_for_scheme(registry, scheme)
    from_url: FromUrl | None = component.meta.get("from_url") if component else None
    if component is None or from_url is None:
        known = sorted(
            f"{s}://"
            for c in registry.all("storage_backend")
            if c.meta.get("from_url")
            for s in url_schemes(c)
            if s != "file"
        )
        raise ConfigError(
            f"--output {url!r}: unknown scheme {scheme!r}; use a path"
            + (f" or one of {', '.join(known)}" if known else "")
        )
    out: dict[str, Any] = {"storage.backend": component.name}
    for key, value in from_url(rest).items():
        out[f"{component.section}.{key}"] = value
    return out


def bucket_and_prefix(bucket_key: str = "bucket") -> FromUrl:
    """``bucket/some/prefix`` → ``{bucket_key: "bucket", "prefix": "some/prefix/"}``."""

    def parse(rest: str) -> dict[str, Any]:
        bucket, _, prefix = rest.partition("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return {bucket_key: bucket, "prefix": prefix}

    return parse


def path(leading: str = "") -> FromUrl:
    """The whole rest of the URL, after ``leading``, as ``path``."""

    def parse(rest: str) -> dict[str, Any]:
        return {"path": leading + rest}

    return parse
