"""Print ``name==version`` for otlp2parquet's installed runtime dependency closure (no extras),
for ``make audit``: what a user installs with ``pip install otlp2parquet``."""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, distribution


def closure(root: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        seen[key] = dist.version
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            marker_ok = ";" not in requirement or _marker_ok(requirement.split(";", 1)[1])
            if marker_ok:
                todo.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
    seen.pop(re.sub(r"[-_.]+", "-", root).lower(), None)
    return seen


def _marker_ok(marker: str) -> bool:
    from packaging.markers import Marker

    return Marker(marker).evaluate()


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "otlp2parquet"
    for name, version in sorted(closure(root).items()):
        sys.stdout.write(f"{name}=={version}\n")
