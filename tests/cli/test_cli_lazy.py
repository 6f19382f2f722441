"""Subcommands registered by name and help line, their parsers built when chosen: each still
parses and helps as before, and a subcommand whose module is absent is left out."""

from __future__ import annotations

import sys

import pytest

from otlp2parquet.cli.main import COMMANDS, EXIT_USAGE, build_parser, main, subcommands

NAMES = [name for name, _ in COMMANDS]


@pytest.mark.parametrize("name", NAMES)
def test_every_subcommand_builds_its_parser_and_helps(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: otlp2parquet {name} ")
    # The global options are added to the loaded parser, as to every subcommand before.
    assert "--log-format {text,json}" in out


def test_loading_a_subcommand_keeps_the_order_of_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert parser.parse_args(["deploy", "cloudflare"]).platform == "cloudflare"
    assert list(subcommands(parser).choices) == NAMES
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["bogus"])
    assert exit_.value.code == EXIT_USAGE
    choices = ", ".join(repr(name) for name in NAMES)
    assert f"invalid choice: 'bogus' (choose from {choices})" in capsys.readouterr().err


def test_a_loaded_subcommand_keeps_its_one_help_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The table's help line is the listing's, even if a module's add_parser passes its own."""
    parser = build_parser()
    subcommands(parser).add_parser("serve", help="a second, different help line")
    parser.print_help()
    listing = capsys.readouterr().out
    assert "a second" not in listing
    assert listing.split().count("serve") == 1
    assert dict(COMMANDS)["serve"] in " ".join(listing.split())


def test_a_subcommand_whose_module_is_absent_is_left_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "otlp2parquet.cli.query", None)  # as if not installed
    parser = build_parser()
    assert list(subcommands(parser).choices) == [n for n in NAMES if n != "query"]
    parser.print_help()
    assert "query the lake" not in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["query", "clickhouse", "--print"])
    assert exit_.value.code == EXIT_USAGE
    assert "invalid choice: 'query'" in capsys.readouterr().err
