"""The plugin framework: loading order, registry attribution, third-party entry points."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from otlp2parquet import hookimpl
from otlp2parquet.assembly import bootstrap
from otlp2parquet.errors import PluginError
from otlp2parquet.plugin.manager import BUILTIN_PLUGINS, build_plugin_manager, collect_registry
from otlp2parquet.plugin.registry import Component, Registry

DATA = Path(__file__).parents[1] / "data"
EXAMPLES = DATA / "otlp-examples"


def make_plugin(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, func in hooks.items():
        setattr(module, hook, func)
    sys.modules[name] = module
    return module


def test_builtins_load_and_register_expected_components() -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    assert {"application/x-protobuf", "application/json"} <= {
        mt for c in registry.all("decoder") for mt in c.meta["media_types"]
    }
    assert registry.names("schema_mapper") == ["logs", "metrics", "traces"]
    assert "hive_hourly" in registry.names("partitioner")
    assert {"fs", "memory", "s3", "r2", "gcs", "azure"} <= set(registry.names("storage_backend"))
    assert registry.get("storage_backend", "filesystem").name == "fs"
    assert registry.get("storage_backend", "aws").name == "s3"
    assert {"none", "iceberg"} <= set(registry.names("catalog"))
    assert registry.get("storage_backend", "fs").plugin == "storage_fsspec"


def test_registry_rejects_duplicates_naming_both_plugins() -> None:
    registry = Registry()
    registry.add(Component("storage_backend", "x", dict, "first_plugin"))
    with pytest.raises(PluginError) as info:
        registry.add(Component("storage_backend", "x", dict, "second_plugin"))
    assert "'first_plugin'" in str(info.value) and "'second_plugin'" in str(info.value)


def test_registry_rejects_alias_clash() -> None:
    registry = Registry()
    registry.add(Component("storage_backend", "x", dict, "a", aliases=("y",)))
    with pytest.raises(PluginError, match="'y' is registered twice"):
        registry.add(Component("storage_backend", "y", dict, "b"))


def test_unknown_name_lists_known_ones() -> None:
    registry = Registry()
    registry.add(Component("catalog", "none", dict, "a"))
    registry.add(Component("catalog", "iceberg", dict, "b"))
    with pytest.raises(PluginError, match="unknown catalog 'glue'; known: iceberg, none"):
        registry.get("catalog", "glue")


def test_every_register_hook_records_the_registering_plugin() -> None:
    """register_decoders, register_schema_mappers, register_partitioners,
    register_storage_backends, register_catalogs, register_platforms."""
    calls = {}
    required = {"schema_mapper": {"signal": "my_signal", "tables": []}}

    def hook(kind: str):
        @hookimpl
        def impl(register):
            register(
                name=f"my_{kind}", factory=dict, section=f"my.{kind}", **required.get(kind, {})
            )

        return impl

    kinds = ["decoder", "schema_mapper", "partitioner", "storage_backend", "catalog", "platform"]
    module = make_plugin("my_plugin_all_kinds", **{f"register_{k}s": hook(k) for k in kinds})
    pm = build_plugin_manager(autoload=False, modules=[module.__name__])
    registry = collect_registry(pm)
    for kind in kinds:
        component = registry.get(kind, f"my_{kind}")
        calls[kind] = component.plugin
        assert component.meta == {"section": f"my.{kind}", **required.get(kind, {})}
        assert component.section == f"my.{kind}"
    assert set(calls.values()) == {"my_plugin_all_kinds"}


def test_configure_hook_is_historic_and_gets_validated_config() -> None:
    seen = []

    @hookimpl
    def configure(config):
        seen.append(config.get("batch.max_rows"))

    make_plugin("my_configure_plugin", configure=configure)
    runtime = bootstrap(
        cli={"plugins.modules": (["my_configure_plugin"], "--x"), "batch.max_rows": (7, "--y")},
        env={},
        cwd=Path("/nonexistent"),
    )
    assert seen == [7]
    assert runtime.pm.get_plugin("my_configure_plugin") is not None


def test_check_pending_fails_on_misspelled_hook() -> None:
    @hookimpl
    def register_decoder(register):  # missing the final 's'
        raise AssertionError("never called")

    make_plugin("my_misspelled_plugin", register_decoder=register_decoder)
    with pytest.raises(PluginError, match="my_misspelled_plugin"):
        build_plugin_manager(autoload=False, modules=["my_misspelled_plugin"])


def test_disable_builtin_plugin() -> None:
    pm = build_plugin_manager(autoload=False, disable=["storage_fsspec"])
    registry = collect_registry(pm)
    assert "fs" not in registry.names("storage_backend")
    assert len(BUILTIN_PLUGINS) - 1 == len(pm.list_name_plugin())


def test_unknown_plugin_module_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match="cannot import plugin module 'no_such_module_xyz'"):
        build_plugin_manager(autoload=False, modules=["no_such_module_xyz"])


@pytest.fixture(scope="module")
def thirdparty_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the throwaway distribution in tests/data/thirdparty into a target dir."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(DATA / "thirdparty"),
        ],
        check=True,
    )
    assert list(target.glob("otlp2parquet_recording_backend-*.dist-info"))
    return target


def test_third_party_entry_point_backend_is_selected_and_used(
    thirdparty_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(thirdparty_site))
    recorded = tmp_path / "recorded"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nbackend = "recording"\n[storage.recording]\ndirectory = "{recorded}"\n'
        "[batch]\nenabled = false\n"
    )
    runtime = bootstrap(str(config), env={})
    assert runtime.registry.get("storage_backend", "recording").plugin == "recording"
    assert runtime.config.origin("storage.recording.directory").endswith(
        "key storage.recording.directory"
    )
    pipeline = runtime.pipeline()
    result = pipeline.ingest("logs", (EXAMPLES / "logs.json").read_bytes(), "application/json")
    pipeline.close()
    assert result.accepted == 1
    journal = (recorded / "journal.txt").read_text().split()
    assert journal[0].startswith("logs/my.service/year=2018/month=12/day=13/hour=14/")
    table = pq.read_table(recorded / journal[0])
    assert table.column("Body").to_pylist() == ["Example log record"]


def test_third_party_plugin_can_be_disabled(
    thirdparty_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(thirdparty_site))
    config = tmp_path / "config.toml"
    config.write_text('[storage]\nbackend = "recording"\n[plugins]\ndisable = ["recording"]\n')
    runtime = bootstrap(str(config), env={})
    assert "recording" not in runtime.registry.names("storage_backend")
    with pytest.raises(PluginError, match=r"unknown storage backend 'recording'; known: .*fs"):
        runtime.pipeline()


def test_third_party_autoload_off(thirdparty_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(thirdparty_site))
    runtime = bootstrap(env={"OTLP2PARQUET_PLUGINS_AUTOLOAD": "false"}, cwd=Path("/nonexistent"))
    assert runtime.pm.get_plugin("recording") is None


def test_third_party_autoload_off_by_default_on_lambda(
    thirdparty_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(thirdparty_site))
    runtime = bootstrap(env={"AWS_LAMBDA_FUNCTION_NAME": "f"}, cwd=Path("/nonexistent"))
    assert runtime.pm.get_plugin("recording") is None
    explicit = bootstrap(
        env={"AWS_LAMBDA_FUNCTION_NAME": "f", "OTLP2PARQUET_PLUGINS_AUTOLOAD": "true"},
        cwd=Path("/nonexistent"),
    )
    assert explicit.pm.get_plugin("recording") is not None


def test_a_platform_registered_with_cold_start_turns_third_party_autoload_off(
    thirdparty_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a list of names in the core: any platform declaring ``cold_start=True``."""
    monkeypatch.syspath_prepend(str(thirdparty_site))

    @hookimpl
    def register_platforms(register):
        register(name="edge", factory=dict, detect_env=("MY_EDGE",), cold_start=True)

    make_plugin("my_edge_platform", register_platforms=register_platforms)
    cli = {"plugins.modules": (["my_edge_platform"], "--x")}
    edge = bootstrap(cli=cli, env={"MY_EDGE": "1"}, cwd=Path("/nonexistent"))
    assert (edge.platform, edge.pm.get_plugin("recording")) == ("edge", None)
    server = bootstrap(cli=cli, env={}, cwd=Path("/nonexistent"))
    assert server.platform == "server" and server.pm.get_plugin("recording") is not None


def test_on_batch_written_observers_see_files_and_failures_lose_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen = []

    @hookimpl
    def on_batch_written(result):
        seen.append(result)

    @hookimpl
    def failing_observer(result):
        raise RuntimeError("observer bug")

    make_plugin("my_observer", on_batch_written=on_batch_written)
    failing = make_plugin("my_failing_observer")
    failing.on_batch_written = failing_observer  # type: ignore[attr-defined]
    runtime = bootstrap(
        cli={
            "plugins.modules": (["my_observer", "my_failing_observer"], "--x"),
            "storage.fs.path": (str(tmp_path), "--output"),
            "batch.enabled": (False, "--no-batch"),
        },
        env={},
        cwd=Path("/nonexistent"),
    )
    pipeline = runtime.pipeline()
    pipeline.ingest("logs", (EXAMPLES / "logs.json").read_bytes(), "application/json")
    pipeline.close()
    assert len(seen) == 1
    written = seen[0]
    assert (written.table, written.rows, written.partition.service) == ("logs", 1, "my.service")
    assert written.min_ts_us == written.max_ts_us == 1544712660300000
    assert (tmp_path / written.key).stat().st_size == written.bytes
    assert pipeline.stats.observer_errors == 1
    assert "observer bug" in caplog.text
