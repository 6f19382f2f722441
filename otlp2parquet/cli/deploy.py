"""``otlp2parquet deploy cloudflare``: write the Cloudflare Python Worker project.

Renders ``wrangler.toml`` and ``pyproject.toml`` (for pywrangler) from the templates in
``deploy/cloudflare/``, puts ``src/entry.py`` beside them and copies otlp2parquet itself into
``src/otlp2parquet/``: the distribution requires pyarrow, which Python Workers cannot install, so
the Worker's ``pyproject.toml`` lists only what its path imports (``WORKER_REQUIREMENTS``) and
the Worker writes Parquet with the pyarrow-free engine (``otlp2parquet.engine.lite``).

Templates use ``{{NAME}}`` placeholders and conditional blocks ``{{#FLAG}}...{{/FLAG}}`` (kept
when FLAG is on) and ``{{^FLAG}}...{{/FLAG}}`` (kept when it is off): ``BATCHING`` holds the
Durable Object binding, its migration and the ``SELF`` service binding; ``CATALOG`` the KV
namespace of pending receipts and the cron trigger; ``BASIC_AUTH`` the basic-auth variables.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import re
import shutil
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from otlp2parquet import __version__
from otlp2parquet.cli.output import emit
from otlp2parquet.errors import ConfigError

#: The repository's deploy/ directory (present in a source checkout or an editable install).
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy"
_BLOCK = re.compile(r"\{\{([#^])([A-Z_]+)\}\}\n?(.*?)\{\{/\2\}\}\n?", re.DOTALL)
_VAR = re.compile(r"\{\{([A-Z_]+)\}\}")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
#: The distribution's requirements the Worker path imports: each is pure Python on PyPI or part
#: of Pyodide (docs/cloudflare.md). pyarrow, numpy and the server's packages are left out.
WORKER_REQUIREMENTS = (
    "pluggy",
    "protobuf",
    "opentelemetry-proto",
    "googleapis-common-protos",
    "msgspec",
    "jsonschema",
    "fsspec",
)
#: The import packages copied into the Worker's ``src/`` (their subpackages and data files too).
VENDORED_PACKAGES = ("otlp2parquet", "otlp2parquet.plugins", "otlp2parquet.schemas")
_VENDORED_FILES = (".py", ".toml", ".json")


def render(template: str, values: Mapping[str, str], flags: Mapping[str, bool]) -> str:
    """Resolve blocks (innermost first), then placeholders; an unknown name is an error."""

    def block(match: re.Match[str]) -> str:
        kind, name, body = match.groups()
        if name not in flags:
            raise ConfigError(f"template block {name!r} is unknown; known: {', '.join(flags)}")
        return body if flags[name] == (kind == "#") else ""

    previous = None
    while previous != template:
        previous, template = template, _BLOCK.sub(block, template)

    def var(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ConfigError(f"template placeholder {name!r} has no value")
        return values[name]

    return _VAR.sub(var, template)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("deploy")
    platforms = parser.add_subparsers(dest="platform", metavar="PLATFORM", required=True)
    cf = platforms.add_parser(
        "cloudflare",
        help="write the Python Worker project (wrangler.toml, pyproject.toml, src/entry.py)",
    )
    cf.add_argument("--out", type=Path, help="project directory (default: deploy/cloudflare)")
    cf.add_argument(
        "--templates", type=Path, help="template directory (default: deploy/cloudflare)"
    )
    cf.add_argument("--name", default="otlp2parquet", help="Worker name")
    cf.add_argument("--bucket", default="otlp2parquet", help="R2 bucket name")
    cf.add_argument("--prefix", default="", help="key prefix inside the bucket")
    cf.add_argument("--batching", action="store_true", help="buffer in the OtlpBatcher object")
    cf.add_argument(
        "--max-rows",
        type=int,
        default=25_000,
        help="batch.max_rows (the pyarrow-free engine holds ~1-1.5 KB per buffered row, and an "
        "isolate has 128 MB)",
    )
    cf.add_argument("--max-age-secs", type=float, default=5.0, help="batch.max_age_secs")
    cf.add_argument(
        "--catalog",
        action="store_true",
        help="register files in the R2 Data Catalog (KV receipts + cron trigger)",
    )
    cf.add_argument("--kv-namespace-id", default="", help="id of the PENDING_FILES namespace")
    cf.add_argument(
        "--catalog-uri",
        default="",
        help="the catalog's Iceberg REST URI (`wrangler r2 bucket catalog enable` prints it)",
    )
    cf.add_argument("--warehouse", default="", help="the catalog's warehouse name (printed too)")
    cf.add_argument("--cron", default="*/5 * * * *", help="catalog sync schedule")
    cf.add_argument("--basic-auth-user", default="", help="turn basic auth on for this user")
    cf.add_argument("--compatibility-date", default=datetime.date.today().isoformat())
    cf.set_defaults(func=run_cloudflare)


def run_cloudflare(args: argparse.Namespace) -> int:
    templates = args.templates or DEPLOY_DIR / "cloudflare"
    needed = ("wrangler.toml.template", "pyproject.toml.template", "src/entry.py")
    missing = [name for name in needed if not (templates / name).is_file()]
    if missing:
        raise ConfigError(
            f"templates not found in {templates} (missing {', '.join(missing)}); run from a "
            "checkout of otlp2parquet or pass --templates DIR"
        )
    if not _NAME.fullmatch(args.name):
        raise ConfigError(f"--name {args.name!r}: use lower-case letters, digits and '-'")
    if args.catalog and not args.kv_namespace_id:
        raise ConfigError(
            "--catalog needs --kv-namespace-id (create one with: "
            "npx wrangler kv namespace create PENDING_FILES)"
        )
    if args.catalog and not (args.catalog_uri and args.warehouse):
        raise ConfigError(
            "--catalog needs --catalog-uri and --warehouse, as `npx wrangler r2 bucket catalog "
            "enable BUCKET` prints them (Catalog URI, Warehouse)"
        )
    if args.max_rows < 1 or args.max_age_secs <= 0:
        raise ConfigError("--max-rows must be >= 1 and --max-age-secs > 0")
    values = {
        "NAME": args.name,
        "BUCKET": args.bucket,
        "PREFIX": args.prefix,
        "CATALOG_MODE": "iceberg" if args.catalog else "none",
        "BATCH_ENABLED": "true" if args.batching else "false",
        "BATCH_MAX_ROWS": str(args.max_rows),
        "BATCH_MAX_AGE_SECS": f"{args.max_age_secs:g}",
        "KV_NAMESPACE_ID": args.kv_namespace_id,
        "CATALOG_URI": args.catalog_uri,
        "WAREHOUSE": args.warehouse,
        "CRON": args.cron,
        "BASIC_AUTH_USERNAME": args.basic_auth_user,
        "COMPATIBILITY_DATE": args.compatibility_date,
        "VERSION": __version__,
        "DEPENDENCIES": ", ".join(f'"{r}"' for r in worker_requirements()),
    }
    flags = {
        "BATCHING": args.batching,
        "CATALOG": args.catalog,
        "BASIC_AUTH": bool(args.basic_auth_user),
    }
    out = args.out or templates
    (out / "src").mkdir(parents=True, exist_ok=True)
    for name in ("wrangler.toml", "pyproject.toml"):
        text = render((templates / f"{name}.template").read_text(), values, flags)
        (out / name).write_text(text)
        emit(f"wrote {out / name}")
    entry = out / "src" / "entry.py"
    if entry.resolve() != (templates / "src" / "entry.py").resolve():
        shutil.copyfile(templates / "src" / "entry.py", entry)
        emit(f"wrote {entry}")
    vendor(out / "src")
    emit(f"wrote {out / 'src' / 'otlp2parquet'} (otlp2parquet {__version__}, without pyarrow)")
    emit(f"next: cd {out} && uv run pywrangler deploy   (docs/cloudflare.md)")
    return 0


def worker_requirements() -> list[str]:
    """``WORKER_REQUIREMENTS`` with the version ranges the installed distribution declares."""
    try:
        declared = metadata.requires("otlp2parquet") or []
    except metadata.PackageNotFoundError:
        declared = []
    found = {}
    for requirement in declared:
        if ";" in requirement:  # an extra's requirement
            continue
        name = re.split(r"[\s<>=!~\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        found[name] = requirement.replace(" ", "")
    return [found.get(name, name) for name in WORKER_REQUIREMENTS]


def vendor(src: Path) -> None:
    """Copy otlp2parquet's packages (Python files and schema data) into ``src/otlp2parquet``,
    replacing an earlier copy."""
    target = src / "otlp2parquet"
    if target.exists():
        shutil.rmtree(target)
    for package in VENDORED_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"cannot locate the {package} package to copy into the Worker")
        source = Path(next(iter(spec.submodule_search_locations)))
        destination = src.joinpath(*package.split("."))
        for path in sorted(source.rglob("*")):
            if path.suffix not in _VENDORED_FILES or "__pycache__" in path.parts:
                continue
            copied = destination / path.relative_to(source)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copied)
