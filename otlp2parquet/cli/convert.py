"""``otlp2parquet convert INPUT... --output URL``: captured OTLP files → Parquet.

Inputs are files or directories (searched recursively) holding OTLP JSON, JSON Lines or protobuf
(one request, or 4-byte big-endian or varint length-delimited ones, as the Collector's
``fileexporter`` writes), gzip- or zstd-compressed or not (``capture_frames``). They run through
the same pipeline as the server (decoder → mapper → partitioner → batcher → writer → storage →
catalog), into the same layout, on any backend. A bad file is reported on its own line and
skipped; the exit status is 2 when a file is in none of the formats read, else 1 when any file
failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl
from otlp2parquet.cli.capture import MEDIA_TYPES, detect_encoding, detect_signal, unwrap
from otlp2parquet.cli.capture_frames import Unreadable, split
from otlp2parquet.cli.common import runtime_from_args
from otlp2parquet.cli.output import emit, error_line
from otlp2parquet.errors import DecodeError, UnsupportedMediaType
from otlp2parquet.types import SIGNALS, IngestResult, WrittenFile

if TYPE_CHECKING:
    from otlp2parquet.pipeline.core import Pipeline

log = logging.getLogger(__name__)
#: The exit status when an input is in none of the formats convert reads.
EXIT_UNREADABLE = 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("convert")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files or directories")
    parser.add_argument(
        "--output",
        "-o",
        metavar="URL",
        help="a directory, s3://bucket/prefix, r2://, gs://, az:// or memory:// "
        "(default: the configured storage)",
    )
    parser.add_argument("--signal", choices=SIGNALS, help="skip signal detection")
    parser.add_argument(
        "--format",
        dest="encoding",
        choices=sorted(MEDIA_TYPES),
        help="skip encoding detection (default: from the extension, else the content)",
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    parser.set_defaults(func=run)


class Summary:
    """An ``on_batch_written`` observer counting what was written, per table."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()
        self.files: Counter[str] = Counter()
        self.bytes = 0

    @hookimpl
    def on_batch_written(self, result: WrittenFile) -> None:
        self.rows[result.table] += result.rows
        self.files[result.table] += 1
        self.bytes += result.bytes


def expand(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """Input files (directories searched recursively, hidden files skipped), and the inputs
    that do not exist."""
    files: list[Path] = []
    missing: list[str] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(name)
    return files, missing


def convert_file(
    pipeline: Pipeline, path: Path, signal: str | None, encoding: str | None
) -> IngestResult:
    """One file through the pipeline; raises DecodeError (Unreadable for a file in no known
    format), UnsupportedMediaType or OSError. Consecutive protobuf messages go through
    together, up to ``MERGE_BYTES`` at a time (see ``merged``); the messages before a bad one
    are converted, and the error names the bad one."""
    data = unwrap(path.read_bytes(), str(path))
    detected = encoding or detect_encoding(path.name, data)
    framing, messages = split(path.name, data, None if detected == "protobuf" else detected)
    log.debug("%s: %s, %d message(s)", path, framing, len(messages))
    first_encoding, first = messages[0]
    signal = signal or detect_signal(path.name, first, first_encoding)
    if signal is None:
        raise DecodeError("cannot tell whether it holds logs, traces or metrics; pass --signal")
    total = IngestResult()
    for kind, numbered in merged(messages):
        decoder = pipeline.decoders.get(MEDIA_TYPES[kind])
        if decoder is None:
            raise UnsupportedMediaType(f"no decoder for {kind} ({MEDIA_TYPES[kind]})")
        for requests in _decoded(decoder, signal, numbered, framing, len(messages)):
            result = pipeline.ingest_requests(signal, requests)
            total.accepted += result.accepted
            total.rejected += result.rejected
            total.reasons += result.reasons
    return total


#: Bytes of consecutive protobuf messages decoded and mapped as one request. A serialized
#: request is a concatenation of its fields, so the concatenation of requests is the request
#: holding all their resources, in order; mapping 1,000-record messages a few MiB at a time
#: spreads the per-request work of every column over more rows.
MERGE_BYTES = 4 << 20


def merged(
    messages: list[tuple[str, bytes]], limit: int = MERGE_BYTES
) -> Iterator[tuple[str, list[tuple[int, bytes]]]]:
    """(encoding, [(number, message)]) runs: consecutive protobuf messages up to ``limit``
    bytes together (a bigger one alone), every other message alone. Numbers count from 1."""
    run: list[tuple[int, bytes]] = []
    size = 0
    for n, (kind, message) in enumerate(messages, 1):
        if run and (kind != "protobuf" or size + len(message) > limit):
            yield "protobuf", run
            run, size = [], 0
        if kind != "protobuf":
            yield kind, [(n, message)]
            continue
        run.append((n, message))
        size += len(message)
    if run:
        yield "protobuf", run


def _decoded(
    decoder: Any, signal: str, numbered: list[tuple[int, bytes]], framing: str, count: int
) -> Iterator[Any]:
    """The requests of merged messages, decoded together; when that fails, one at a time to
    find the bad one: the requests of the good ones before it, then DecodeError naming it."""
    body = numbered[0][1] if len(numbered) == 1 else b"".join(m for _, m in numbered)
    try:
        yield decoder.decode(body, signal)
        return
    except DecodeError:
        if count == 1:
            raise
    for n, message in numbered:
        try:
            requests = decoder.decode(message, signal)
        except DecodeError as exc:
            raise DecodeError(f"{framing} message {n} of {count}: {exc}") from None
        yield requests


def run(args: argparse.Namespace) -> int:
    from otlp2parquet.engine.pandas_probe import skip_pandas_probe

    skip_pandas_probe()
    runtime = runtime_from_args(args, output=args.output)
    files, missing = expand(args.inputs)
    for name in missing:
        error_line(f"{name}: no such file or directory")
    summary = Summary()
    runtime.pm.register(summary, name="convert-summary")
    pipeline = runtime.pipeline()
    failed, unreadable, accepted, rejected = len(missing), 0, 0, 0
    sizes = [path.stat().st_size for path in files]
    bar = _progress(sum(sizes), show=not args.no_progress and sys.stderr.isatty())
    try:
        for done, (path, size) in enumerate(zip(files, sizes, strict=True), 1):
            try:
                result = convert_file(pipeline, path, args.signal, args.encoding)
            except (DecodeError, UnsupportedMediaType, OSError) as exc:
                failed += 1
                unreadable += isinstance(exc, Unreadable)
                if bar is not None:
                    bar.clear()  # keep the message off the bar's line
                error_line(f"{path}: {exc}")
            else:
                accepted += result.accepted
                rejected += result.rejected
                if result.rejected:
                    log.warning(
                        "%s: %d record(s) rejected: %s", path, result.rejected, result.message
                    )
            if bar is not None:
                bar.update(size)
                bar.set_postfix(files=f"{done}/{len(files)}", records=accepted + rejected)
    finally:
        if bar is not None:
            bar.close()
        pipeline.close()
    total = len(files) + len(missing)
    emit(
        f"converted {total - failed} of {total} input file(s): {accepted} record(s) written"
        + (f", {rejected} rejected" if rejected else "")
    )
    target = args.output or f"{runtime.config.get('storage.backend')} storage"
    emit(f"wrote {summary.files.total()} Parquet file(s), {summary.bytes} bytes, to {target}")
    for table in sorted(summary.rows):
        emit(f"  {table}: {summary.rows[table]} row(s) in {summary.files[table]} file(s)")
    if failed:
        emit(f"{failed} input file(s) failed; see the messages above")
    return EXIT_UNREADABLE if unreadable else 1 if failed else 0


def _progress(total: int, show: bool) -> Any:
    """A tqdm bar on stderr (bytes, with files and records as postfix), or None."""
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, desc="convert")
