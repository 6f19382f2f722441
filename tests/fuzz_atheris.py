"""Coverage-guided fuzzing with atheris (``make fuzz``; not part of the pytest run).

One target covers every decoder (and the mapper behind it) and the OTLP/HTTP layer: the first
input byte picks the route, the rest is the body. A crash is any exception that is not one of
ours, or a 500 from the HTTP layer. Corpus: the valid sample requests of every signal.

    python tests/fuzz_atheris.py -max_total_time=300 [corpus_dir]
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).parent))

with atheris.instrument_imports():
    from otlp2parquet.assembly import bootstrap
    from otlp2parquet.errors import Otlp2ParquetError
    from otlp2parquet.http.otlp import OtlpHttp
    from support.signal_samples import decoder, full_requests, mapper

SIGNALS = ("logs", "traces", "metrics")
KINDS = ("protobuf", "json", "jsonl")
CONTENT_TYPES = {
    "protobuf": "application/x-protobuf",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}
DECODERS = {kind: decoder(kind) for kind in KINDS}
MAPPERS = {signal: mapper(signal) for signal in SIGNALS}


def _handler() -> OtlpHttp:
    cli = {
        "storage.backend": ("memory", "fuzz"),
        "batch.max_age_secs": (3600, "fuzz"),
        "batch.max_buffered_bytes": (1 << 40, "fuzz"),
    }
    pipeline = bootstrap(None, cli, env={}, cwd=Path(tempfile.mkdtemp())).pipeline()
    return OtlpHttp(pipeline, max_payload_bytes=256 * 1024)


with atheris.instrument_imports():  # the plugins load here
    HANDLER = _handler()


def target(data: bytes) -> None:
    if len(data) < 2:
        return
    route, body = data[0], data[1:]
    signal = SIGNALS[route % 3]
    kind = KINDS[(route // 3) % 3]
    if route & 0x80:  # through the HTTP layer, sometimes gzip-declared
        headers = {"Content-Type": CONTENT_TYPES[kind]}
        if route & 0x40:
            headers["Content-Encoding"] = "gzip"
        status = HANDLER.handle("POST", f"/v1/{signal}", headers, body).status
        _trim()
        if status >= 500 and status != 503:
            raise AssertionError(f"HTTP {status} for a {kind} {signal} body")
        return
    try:
        MAPPERS[signal].map(DECODERS[kind].decode(body, signal))
    except Otlp2ParquetError:
        return


def _trim() -> None:
    """Accepted bodies pile up in the buffers and the memory store: drop them now and then."""
    pipeline = HANDLER.pipeline
    if pipeline.batcher.buffered_bytes > 32 << 20:
        pipeline.flush()
        storage = pipeline.storage
        storage.fs.rm(storage.root, recursive=True)  # type: ignore[attr-defined]


def write_corpus(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index, (signal, request) in enumerate(full_requests().items()):
        route = SIGNALS.index(signal)
        (directory / f"seed-{index}-pb").write_bytes(bytes([route]) + request.SerializeToString())
        (directory / f"seed-{index}-http").write_bytes(
            bytes([route | 0x80]) + request.SerializeToString()
        )


def main() -> None:
    logging.disable(logging.CRITICAL)
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        write_corpus(Path(corpus[0]))
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
