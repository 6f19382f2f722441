"""The ``server`` platform: OTLP/HTTP on falcon + waitress (``otlp2parquet serve``).

Registering is cheap: falcon and waitress are imported only when the server runs. The OTLP/HTTP
rules themselves live in the core (``otlp2parquet.http.otlp``), shared with Lambda and
Cloudflare; this package only adapts them to WSGI and runs waitress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.plugin.registry import Register


class ServerPlatform:
    """Serves until SIGTERM or SIGINT, then drains and flushes every buffer."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def run(self, runtime: Runtime) -> int:
        from .runner import serve

        return serve(runtime, self.options)


def factory(options: dict[str, Any]) -> ServerPlatform:
    return ServerPlatform(options)


@hookimpl
def register_platforms(register: Register) -> None:
    register(
        name="server",
        factory=factory,
        section="server",
        fallback=True,  # chosen when no platform's detect_env variable is set
        defaults={"storage": {"backend": "fs"}, "durability": {"enabled": True}},
    )
