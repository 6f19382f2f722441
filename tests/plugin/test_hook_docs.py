"""Meta-tests: every hook is documented in docs/hooks.md and exercised by some test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from otlp2parquet import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(func, "otlp2parquet_spec")
)


def test_there_are_hooks() -> None:
    assert "register_storage_backends" in HOOKS and "on_batch_written" in HOOKS
    assert len(HOOKS) == 8


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    docs = (ROOT / "docs" / "hooks.md").read_text()
    assert f"### `{hook}" in docs, f"docs/hooks.md has no section for {hook}"
    first_line = inspect.getdoc(getattr(hookspecs, hook)).splitlines()[0]
    assert first_line in docs, f"docs/hooks.md does not carry {hook}'s contract"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook: str) -> None:
    me = Path(__file__).name
    used = [
        p.name
        for p in (ROOT / "tests").rglob("test_*.py")
        if p.name != me and hook in p.read_text()
    ]
    assert used, f"no test mentions hook {hook}"
