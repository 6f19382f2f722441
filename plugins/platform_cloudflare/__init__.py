"""The ``cloudflare`` platform: OTLP/HTTP in a Cloudflare Python Worker, writing to R2 through a
bucket binding (the ``r2_binding`` storage backend), with optional batching in the
``OtlpBatcher`` Durable Object and KV receipts synced into the R2 Data Catalog by a cron trigger.

Modules: ``boundary`` (the only one touching Pyodide's ``js``/``pyodide``), ``storage`` (R2 and KV
through bindings), ``worker`` (requests, receipts, catalog sync), ``batcher`` (the Durable
Object), ``handlers`` (what ``deploy/cloudflare/src/entry.py`` calls). Registering imports none
of them but ``storage``'s options; ``otlp2parquet deploy cloudflare`` writes the Worker project.
Detected by ``CF_WORKER``. Python Workers cannot install pyarrow, so the Worker writes with the
pyarrow-free engine (``otlp2parquet.engine.lite``, chosen by ``parquet.engine``);
docs/cloudflare.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl
from otlp2parquet.errors import ConfigError

from .options import R2_BINDING

if TYPE_CHECKING:
    from otlp2parquet.assembly import Runtime
    from otlp2parquet.plugin.registry import Register

    from .storage import R2BindingStorage

DETECT_ENV = "CF_WORKER"
MIB = 1024 * 1024
#: REFERENCE.md: Cloudflare batches 100000 rows / 64 MiB / 5 s; payloads up to 10 MiB.
DEFAULTS: dict[str, Any] = {
    "storage": {"backend": "r2_binding"},
    "batch": {"max_rows": 100_000, "max_bytes": 64 * MIB, "max_age_secs": 5},
    "request": {"max_payload_bytes": 10 * MIB},
}


class CloudflarePlatform:
    """The Workers runtime calls the entry's handlers; there is no process of ours to run."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def run(self, runtime: Runtime) -> int:
        raise ConfigError(
            "the cloudflare platform runs inside a Cloudflare Worker (deploy/cloudflare/"
            "src/entry.py); write the project with `otlp2parquet deploy cloudflare`, or set "
            'platform = "server" (or unset CF_WORKER) to serve HTTP here'
        )


def make_r2_binding(options: dict[str, Any]) -> R2BindingStorage:
    from .storage import make_r2_binding as make

    return make(options)


@hookimpl
def register_platforms(register: Register) -> None:
    register(
        name="cloudflare",
        factory=CloudflarePlatform,
        section="cloudflare",
        detect_env=(DETECT_ENV,),
        cold_start=True,
        defaults=DEFAULTS,
    )


@hookimpl
def register_storage_backends(register: Register) -> None:
    register(name="r2_binding", factory=make_r2_binding, options=R2_BINDING)
