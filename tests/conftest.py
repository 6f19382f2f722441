"""Shared fixtures. ``s3_server`` is a real S3 API (moto's server mode) on 127.0.0.1."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from otlp2parquet.assembly import Runtime, bootstrap
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.telemetry.metrics import Telemetry
from support import hook_calls
from support.rest_catalog import RestCatalog
from support.s3 import S3_KEY, S3_REGION, S3_SECRET, create_bucket, free_port
from support.settings import settings_layer

TESTS = Path(__file__).parent
#: Meta-tests that read what the rest of the session did; they run last.
LAST = "plugin/test_hook_docs.py::test_hook_is_called_by_a_test"


def pytest_configure(config: pytest.Config) -> None:
    hook_calls.install()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the meta-tests to the end; note whether every test module was selected."""
    items.sort(key=lambda item: LAST in item.nodeid)
    selected = {Path(str(item.fspath)) for item in items}
    every = {p for p in TESTS.rglob("test_*.py") if "node_modules" not in p.parts}
    hook_calls.FULL_RUN[0] = every <= selected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    hook_calls.CURRENT[0] = item.nodeid
    try:
        return (yield)
    finally:
        hook_calls.CURRENT[0] = ""


@pytest.fixture
def telemetry() -> Telemetry:
    """A fresh ``Telemetry``, not yet enabled: counts start at zero and no other test sees them
    (pass it to ``bootstrap(..., telemetry=...)`` or to what you build)."""
    return Telemetry()


@pytest.fixture
def fresh_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A Cloudflare isolate with no kept app, run in an empty directory (no ./config.toml) and
    without OTLP2PARQUET_CONFIG*; the recording catalog is cleared, and the Worker's bindings
    are forgotten afterwards. Use it with ``pytestmark = pytest.mark.usefixtures(...)``."""
    from otlp2parquet.plugins.platform_cloudflare import worker
    from otlp2parquet.plugins.platform_cloudflare.storage import use_env
    from support import recording_catalog

    monkeypatch.chdir(tmp_path)
    for name in ("OTLP2PARQUET_CONFIG", "OTLP2PARQUET_CONFIG_CONTENT"):
        monkeypatch.delenv(name, raising=False)
    worker.reset()
    recording_catalog.COMMITS.clear()
    recording_catalog.FAIL.clear()
    yield
    worker.reset()
    use_env(None)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server for the whole session; yields its endpoint URL. Use unique bucket
    names (``make_bucket``): the server's state is shared by every test."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def make_bucket(s3_server: str) -> Callable[..., str]:
    """``make_bucket()`` creates a fresh bucket on ``s3_server`` and returns its name."""
    return lambda name=None: create_bucket(s3_server, name)


@pytest.fixture
def s3_options(s3_server: str, make_bucket: Callable[..., str]) -> dict[str, Any]:
    """``storage.s3`` options for a fresh bucket on ``s3_server``."""
    return {
        "bucket": make_bucket(),
        "endpoint": s3_server,
        "region": S3_REGION,
        "access_key_id": S3_KEY,
        "secret_access_key": S3_SECRET,
    }


@pytest.fixture
def rest_catalog(
    tmp_path: Path, s3_server: str, make_bucket: Callable[..., str]
) -> Iterator[RestCatalog]:
    """``tests/support/iceberg_rest_standin.py`` (pyiceberg's SqlCatalog behind the Iceberg REST
    protocol) with its warehouse in a fresh bucket of ``s3_server``."""
    from support.iceberg_rest_standin import RestCatalogServer

    bucket = make_bucket()
    properties = {
        "uri": f"sqlite:///{tmp_path}/rest-catalog.db",
        "warehouse": f"s3://{bucket}/__r2_data_catalog",
        "s3.endpoint": s3_server,
        "s3.access-key-id": S3_KEY,
        "s3.secret-access-key": S3_SECRET,
        "s3.region": S3_REGION,
        "s3.force-virtual-addressing": "false",
    }
    setup = RestCatalog(None, bucket, s3_server)
    with RestCatalogServer(properties, token=setup.token, prefix=setup.warehouse) as server:
        setup.server = server
        yield setup


@pytest.fixture
def make_runtime(tmp_path: Path) -> Callable[..., Runtime]:
    """``make_runtime(storage__backend="memory", ...)``: a runtime of the built-in plugins with
    ``settings`` as command-line values, no environment and ``tmp_path`` as working directory."""

    def make(**settings: Any) -> Runtime:
        return bootstrap(None, settings_layer(settings), env={}, cwd=tmp_path)

    return make


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    """A runtime with every default but the store: a memory backend of its own."""
    return make_runtime(storage__backend="memory", storage__memory__path=f"/{uuid.uuid4().hex}")


@pytest.fixture
def make_pipeline(make_runtime: Callable[..., Runtime]) -> Iterator[Callable[..., Pipeline]]:
    """``make_pipeline(**settings)``: the pipeline of ``make_runtime(**settings)``, closed (its
    buffers flushed) when the test ends."""
    made: list[Pipeline] = []

    def make(**settings: Any) -> Pipeline:
        made.append(make_runtime(**settings).pipeline())
        return made[-1]

    yield make
    for pipeline in made:
        pipeline.close()


@pytest.fixture
def pipeline(runtime: Runtime) -> Iterator[Pipeline]:
    """The pipeline of ``runtime``, closed when the test ends."""
    built = runtime.pipeline()
    yield built
    built.close()
