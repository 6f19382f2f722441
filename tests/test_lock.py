"""The lock files agree with pyproject.toml: every requirement of the runtime, of every extra and
of every dependency group is pinned, hash-checked, at a version its range allows; the Lambda
image's lock pins what the main lock pins; nothing in them names a host."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", re.MULTILINE)


def key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, set[Version]]:
    found: dict[str, set[Version]] = {}
    for name, version in PIN.findall(path.read_text()):
        found.setdefault(key(name), set()).add(Version(version))
    return found


def requirements(extras: list[str], groups: list[str]) -> list[Requirement]:
    project = PYPROJECT["project"]
    wanted = [*project["dependencies"]]
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    todo = list(groups)
    while todo:
        for item in PYPROJECT["dependency-groups"][todo.pop()]:
            if isinstance(item, dict):
                todo.append(item["include-group"])
            else:
                wanted.append(item)
    found = [Requirement(text) for text in wanted]
    return [r for r in found if key(r.name) != "otlp2parquet"]


def assert_locked(lock: Path, wanted: list[Requirement]) -> None:
    locked = pins(lock)
    for requirement in wanted:
        versions = locked.get(key(requirement.name))
        assert versions, f"{requirement.name} is not in {lock.name}: run `make lock`"
        outside = [v for v in versions if v not in requirement.specifier]
        assert not outside, f"{lock.name} pins {requirement.name} {outside}, outside {requirement}"


def test_main_lock_pins_every_requirement_inside_its_range() -> None:
    extras = sorted(PYPROJECT["project"]["optional-dependencies"])
    assert_locked(ROOT / "requirements.lock", requirements(extras, ["dev"]))


def test_lambda_lock_pins_the_lambda_image_at_the_main_locks_versions() -> None:
    lock = ROOT / "deploy" / "lambda" / "requirements.lock"
    assert_locked(lock, requirements(["lambda", "iceberg"], []))
    main = pins(ROOT / "requirements.lock")
    for name, versions in pins(lock).items():
        assert versions <= main.get(name, set()), (name, versions, main.get(name))


def test_locks_are_hash_checked_and_name_no_host() -> None:
    for lock in (ROOT / "requirements.lock", ROOT / "deploy" / "lambda" / "requirements.lock"):
        text = lock.read_text()
        assert "://" not in text, lock
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        for entry in entries:
            if PIN.match(entry):
                assert "--hash=sha256:" in entry, entry.split()[0]


def test_the_lambda_image_installs_the_lock_with_hashes() -> None:
    text = (ROOT / "deploy" / "lambda" / "Dockerfile").read_text()
    assert "COPY deploy/lambda/requirements.lock" in text
    assert re.search(r"pip install [^\n]*--require-hashes[^&]*-r requirements.lock", text)
    assert re.search(r"pip install [^\n]*--no-deps[^\n]* \.", text)
