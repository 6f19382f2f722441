"""No import cycles among otlp2parquet's modules and plugins, counting imports inside functions
(the lazy ones) and leaving out ``if TYPE_CHECKING:`` blocks."""

from __future__ import annotations

import ast
from pathlib import Path

from otlp2parquet.plugin.manager import BUILTIN_PLUGINS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"otlp2parquet": ROOT / "otlp2parquet", "otlp2parquet.plugins": ROOT / "plugins"}


def module_files() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports. ``from pkg import name`` counts as an import of
    ``pkg.name`` when that is a module; a package's ``__init__`` is not counted as imported by its
    own submodules (Python runs it first whatever they import)."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                names.add(sub if sub in known else source)
    targets = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module and not module.startswith(name + "."):
            targets.add(name)
    return targets


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_there_are_no_import_cycles() -> None:
    known = module_files()
    graph = {module: imported(module, path, known) for module, path in known.items()}
    assert len(graph) > 80 and "otlp2parquet.config.sources" in graph["otlp2parquet.config.load"]
    assert cycles(graph) == []


def test_a_cycle_through_a_lazy_import_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_built_in_plugins_do_not_import_each_other() -> None:
    """Each plugin reaches another only through hooks and the registry (a plugin's helper
    module, such as storage_query beside storage_fsspec, is not a plugin of its own)."""
    known = module_files()
    plugins = {module: module.split(".")[2] for module in BUILTIN_PLUGINS}
    crossings = []
    for module, path in known.items():
        owner = next(
            (p for m, p in plugins.items() if module == m or module.startswith(m + ".")), None
        )
        if owner is None:
            continue
        for target in imported(module, path, known):
            other = next(
                (p for m, p in plugins.items() if target == m or target.startswith(m + ".")), None
            )
            if other is not None and other != owner:
                crossings.append(f"{module} -> {target}")
    assert len(plugins) >= 14 and crossings == []
