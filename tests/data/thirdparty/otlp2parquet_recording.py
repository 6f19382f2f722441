"""A third-party otlp2parquet plugin, as a user would publish it: a storage backend that
stores objects as files under a directory and records every put in a journal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from otlp2parquet import hookimpl

OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"directory": {"type": "string", "default": "./recorded"}},
}


class RecordingBackend:
    def __init__(self, options: dict[str, Any]) -> None:
        self.root = Path(options["directory"])

    def url(self, key: str) -> str:
        return f"recording://{key}"

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        with open(self.root / "journal.txt", "a") as journal:
            journal.write(f"{key} {len(data)}\n")

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def list(self, prefix: str = "") -> list[str]:
        out = []
        for folder, _, files in os.walk(self.root):
            for name in files:
                rel = os.path.relpath(os.path.join(folder, name), self.root)
                if rel.startswith(prefix) and rel != "journal.txt":
                    out.append(rel)
        return sorted(out)

    def delete(self, key: str) -> None:
        (self.root / key).unlink()

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


@hookimpl
def register_storage_backends(register):
    register(name="recording", factory=RecordingBackend, options=OPTIONS)
