"""The command line: help, version, config and plugin commands, one-line errors with exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from otlp2parquet import __version__

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("OTLP2PARQUET_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "otlp2parquet", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd or ROOT,
    )


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"otlp2parquet {__version__}"
    out = run("--help").stdout
    for command in ("serve", "convert", "schema", "plugins", "config"):
        assert command in out


def test_no_command_prints_help_and_exits_2() -> None:
    result = run()
    assert result.returncode == 2
    assert "usage: otlp2parquet" in result.stdout


def test_config_show_origin_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[storage.s3]\nsecret_access_key = 'abc123'\n")
    result = run(
        "config",
        "show",
        "--origin",
        env={"OTLP2PARQUET_BATCH_MAX_ROWS": "17", "OTLP2PARQUET_BASIC_AUTH_PASSWORD": "pw9"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "abc123" not in result.stdout and "pw9" not in result.stdout
    lines = {line.split(" = ")[0]: line for line in result.stdout.splitlines()}
    assert lines["batch.max_rows"].endswith("# environment variable OTLP2PARQUET_BATCH_MAX_ROWS")
    assert '"********"' in lines["storage.s3.secret_access_key"]
    assert lines["storage.s3.secret_access_key"].endswith(
        f"# {tmp_path / 'config.toml'} key storage.s3.secret_access_key"
    )
    assert lines["batch.max_bytes"].endswith("# defaults")


def test_config_check_reports_ok_with_repository_config() -> None:
    result = run("--config", "config.toml", "config", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("configuration OK (platform server, storage fs")


def test_config_error_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run("config", "check", env={"OTLP2PARQUET_BATCH_MAX_ROWS": "-1"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("otlp2parquet: ")]
    assert len(errors) == 1
    assert "'batch.max_rows'" in errors[0]
    assert "environment variable OTLP2PARQUET_BATCH_MAX_ROWS" in errors[0]


def test_unknown_component_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run("config", "check", env={"OTLP2PARQUET_STORAGE_BACKEND": "ftp"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown storage backend 'ftp'; known: " in result.stderr
    assert "Traceback" not in result.stderr


def test_plugin_error_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run("plugins", env={"OTLP2PARQUET_PLUGINS_MODULES": "nope_module"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot import plugin module 'nope_module'" in result.stderr
    assert "Traceback" not in result.stderr


def test_plugins_lists_builtins_and_components(tmp_path: Path) -> None:
    result = run("plugins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "storage_fsspec: " in result.stdout
    assert "storage backend s3 (aliases aws)" in result.stdout


def test_log_format_json(tmp_path: Path) -> None:
    result = run(
        "--log-format",
        "json",
        "config",
        "check",
        env={"OTLP2PARQUET_BATCH_MAX_ROW": "1"},
        cwd=tmp_path,
    )
    assert result.returncode == 0
    import json

    entries = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any("OTLP2PARQUET_BATCH_MAX_ROW" in e["message"] for e in entries)
    assert all(e["level"] == "warning" for e in entries)


def test_output_into_a_closed_pipe_is_quiet() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "otlp2parquet", "schema", "show"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # before the command has written anything
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert proc.returncode == 0


def test_global_options_after_the_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("[batch]\nmax_rows = 321\n")
    result = run(
        "config", "show", "--origin", "--config", str(config), "--log-level", "debug", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split(" = ")[0]: line for line in result.stdout.splitlines()}
    assert lines["batch.max_rows"].startswith("batch.max_rows = 321")
    assert lines["batch.max_rows"].endswith(f"# {config} key batch.max_rows")
    assert lines["server.log_level"].startswith('server.log_level = "debug"')
    assert lines["server.log_level"].endswith("# command-line flag --log-level")


def test_global_options_in_either_place_parse_the_same() -> None:
    from otlp2parquet.cli.main import build_parser

    parser = build_parser()
    after = parser.parse_args(["serve", "--config", "a.toml", "--log-format", "json"])
    before = parser.parse_args(["--config", "a.toml", "--log-format", "json", "serve"])
    for args in (after, before):
        assert (args.command, args.config, args.log_format, args.log_level) == (
            "serve",
            "a.toml",
            "json",
            None,
        )
    # Given before, a value survives the subcommand; given after, it wins.
    args = parser.parse_args(["-c", "a.toml", "schema", "export", "--log-level", "error"])
    assert (args.config, args.log_level) == ("a.toml", "error")
    args = parser.parse_args(["--log-level", "info", "convert", "x.json", "--log-level", "debug"])
    assert args.log_level == "debug"
    # `query duckdb -c SQL` keeps its -c; --config still works there.
    args = parser.parse_args(["query", "duckdb", "-c", "SELECT 1", "--config", "b.toml"])
    assert (args.sql, args.config) == (["SELECT 1"], "b.toml")
