"""Which hooks the tests call: every otlp2parquet hook implementation registered in this process
is wrapped so that a call records the hook's name under the running test.

``tests/plugin/test_hook_docs.py`` reads it at the end of a full run: a hook no test calls fails
there (a test that only mentions a hook's name does not count).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pluggy

#: hook name → node ids of the tests during which one of its implementations ran.
CALLS: defaultdict[str, set[str]] = defaultdict(set)
#: The node id of the test being set up, run or torn down ("" between tests).
CURRENT = [""]
#: Whether this session selected every test module (set at the end of collection).
FULL_RUN = [False]


def _recording(hook: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        if CURRENT[0]:
            CALLS[hook].add(CURRENT[0])
        return function(*args, **kwargs)

    call.recorded = True  # type: ignore[attr-defined]
    return call


def install() -> None:
    """Wrap the implementations of every plugin registered from now on."""
    original = pluggy.PluginManager.register
    if getattr(original, "recorded", False):
        return

    def register(self: pluggy.PluginManager, plugin: object, name: str | None = None) -> Any:
        result = original(self, plugin, name)
        if self.project_name == "otlp2parquet" and result is not None:
            for caller in self.get_hookcallers(plugin) or ():
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin and not getattr(impl.function, "recorded", False):
                        impl.function = _recording(caller.name, impl.function)
        return result

    register.recorded = True  # type: ignore[attr-defined]
    pluggy.PluginManager.register = register  # type: ignore[method-assign]
