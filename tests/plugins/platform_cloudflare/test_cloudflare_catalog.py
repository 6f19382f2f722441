"""The Worker's catalog comes from the registry: a catalog registering ``lite_factory`` (the
``iceberg`` one) is built by it; it needs the R2 binding for its manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.errors import ConfigError
from otlp2parquet.plugins.platform_cloudflare.catalog import make_catalog


def test_the_iceberg_catalog_registers_its_pyarrow_free_form(tmp_path: Path) -> None:
    runtime = bootstrap(env={"CF_WORKER": "1"}, cwd=tmp_path)
    assert callable(runtime.registry.get("catalog", "iceberg").meta["lite_factory"])
    assert "lite_factory" not in runtime.registry.get("catalog", "none").meta


def test_a_lite_catalog_needs_the_r2_binding(tmp_path: Path) -> None:
    runtime = bootstrap(
        env={"CF_WORKER": "1", "OTLP2PARQUET_STORAGE_BACKEND": "memory"}, cwd=tmp_path
    )
    storage = runtime.registry.get("storage_backend", "memory").factory({"path": "/cf-catalog"})
    with pytest.raises(ConfigError, match='catalog_mode = "iceberg" in a Worker needs storage'):
        make_catalog(runtime, "iceberg", storage, {})
    none = make_catalog(runtime, "none", storage, {})
    assert hasattr(none, "commit")
