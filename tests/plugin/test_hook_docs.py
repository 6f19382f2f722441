"""Meta-tests: every hook is documented in docs/hooks.md and exercised by some test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from otlp2parquet import hookspecs
from support import hook_calls

ROOT = Path(__file__).resolve().parents[2]
ME = Path(__file__).name
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
def test_hook_is_called_by_a_test(hook: str) -> None:
    """Runs last (tests/conftest.py): some other test of this session called an implementation
    of the hook (support/hook_calls.py records calls, not mentions)."""
    if not hook_calls.FULL_RUN[0]:
        pytest.skip("needs the whole suite: it checks what the other tests called")
    callers = {c for c in hook_calls.CALLS.get(hook, set()) if f"{ME}::" not in c}
    assert callers, f"no test calls an implementation of hook {hook}"


def test_the_call_recorder_sees_direct_and_hook_calls() -> None:
    """The recorder wraps implementations, so both pluggy's calls and the registry's direct
    calls of ``register_*`` implementations are seen."""
    from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry

    before = {hook: set(ids) for hook, ids in hook_calls.CALLS.items()}
    me = hook_calls.CURRENT[0]
    pm = build_plugin_manager(autoload=False)
    collect_registry(pm)
    assert me in hook_calls.CALLS["register_decoders"] - before.get("register_decoders", set())
