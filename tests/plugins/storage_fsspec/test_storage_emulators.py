"""The ``gcs`` and ``azure`` backends against real emulators on 127.0.0.1: gcp-storage-emulator
(a Python package of the ``test`` extra) through gcsfs, and Azurite (npm, installed on first use
into ``tests/azurite/node_modules``) through adlfs. OTLP logs, traces and metrics go through the
whole pipeline and come back under the Hive layout keys with their values; a missing bucket or
container is a StorageError naming it, and the rows it held are written once it exists."""

from __future__ import annotations

import io
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from otlp2parquet.assembly import bootstrap
from otlp2parquet.errors import StorageError
from otlp2parquet.pipeline.batcher import Batcher
from otlp2parquet.pipeline.core import Pipeline
from otlp2parquet.plugins.storage_fsspec import FsspecStorage, make_gcs
from otlp2parquet.types import WrittenFile
from support.writepath_tables import LOGS, T0, build_pipeline, rows, seqs

HERE = Path(__file__).resolve().parents[2]  # tests/
EXAMPLES = HERE / "data" / "otlp-examples"
AZURITE_DIR = HERE / "azurite"
#: Azurite's well-known development account (documented by Microsoft, not a secret).
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
#: The examples' records are at 2018-12-13T14:51:00.3Z, service my.service.
LAYOUT = re.compile(
    r"otel/(?P<table>logs|traces|metrics/[a-z_]+)/my\.service/year=2018/month=12/day=13/"
    r"hour=14/1544712660\d{6}-[0-9a-f]{32}\.parquet"
)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(command: list[str], port: int, log: Path, what: str, cwd: Path | None = None) -> Any:
    """Start ``command`` and wait until it listens on ``port``; skip if it cannot start."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"{what} exited with {proc.returncode}: {log.read_text()[-500:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    pytest.skip(f"{what} did not listen on port {port} within 30 s: {log.read_text()[-500:]}")


def _stop(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(2)  # Azurite waits for idle keep-alive connections on SIGTERM
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Store:
    """One emulator: the backend's settings and a way to create buckets/containers."""

    backend: str
    scheme: str
    bucket_key: str  # "bucket" or "container"
    options: dict[str, Any]
    create: Callable[[str], None]
    extra: dict[str, Any] = field(default_factory=dict)

    def settings(self, bucket: str, **options: Any) -> dict[str, Any]:
        """``build_pipeline`` keyword settings for ``bucket`` and ``options``."""
        merged = self.options | {self.bucket_key: bucket} | options
        return {"storage__backend": self.backend} | {
            f"storage__{self.backend}__{key}": value for key, value in merged.items()
        }

    def fresh(self) -> str:
        name = f"lake-{uuid.uuid4().hex[:12]}"
        self.create(name)
        return name


@pytest.fixture(scope="module")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """gcp-storage-emulator in memory on a free port."""
    pytest.importorskip("gcsfs", reason="the 'gcs' extra (gcsfs) is not installed")
    pytest.importorskip(
        "gcp_storage_emulator", reason="gcp-storage-emulator (the 'test' extra) is not installed"
    )
    from gcsfs.core import GCSFileSystem

    port = _port()
    log = tmp_path_factory.mktemp("gcs") / "emulator.log"
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1"]
    proc = _start([*command, "--port", str(port), "--in-memory"], port, log, "gcp-storage-emulator")
    endpoint = f"http://127.0.0.1:{port}"
    admin = GCSFileSystem(endpoint_url=endpoint, token="anon", skip_instance_cache=True)
    try:
        yield Store("gcs", "gs", "bucket", {"endpoint": endpoint, "token": "anon"}, admin.mkdir)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Azurite's blob service on a free port, installed with npm on first use."""
    pytest.importorskip("adlfs", reason="the 'azure' extra (adlfs) is not installed")
    from azure.storage.blob import BlobServiceClient

    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Azurite needs Node.js and npm, which are not installed")
    azurite = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if not azurite.exists():
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
            cwd=AZURITE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not azurite.exists():
            pytest.skip(f"npm could not install azurite: {done.stderr.strip()[-500:]}")
    port = _port()
    where = tmp_path_factory.mktemp("azurite")
    command = [node, str(azurite), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
    command += ["--location", str(where), "--skipApiVersionCheck", "--loose", "--silent"]
    proc = _start(command, port, where / "azurite.log", "azurite-blob", cwd=where)
    endpoint = f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}"
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={AZURE_KEY};"
        f"BlobEndpoint={endpoint};"
    )
    service = BlobServiceClient.from_connection_string(connection)

    def create(name: str) -> None:
        service.create_container(name)

    try:
        yield Store(
            "azure",
            "abfs",
            "container",
            {"connection_string": connection},
            create,
            {"account_name": AZURE_ACCOUNT, "account_key": AZURE_KEY, "endpoint": endpoint},
        )
    finally:
        service.close()
        _stop(proc)


@pytest.fixture(params=["gcs", "azure"])
def store(request: pytest.FixtureRequest) -> Store:
    found: Store = request.getfixturevalue(request.param)
    return found


def test_otlp_logs_traces_and_metrics_round_trip(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    bucket = store.fresh()
    pipeline = make_pipeline(**store.settings(bucket, prefix="otel/"))
    pipeline.storage.check()
    for signal, name, count in [
        ("logs", "logs", 1),
        ("traces", "trace", 1),
        ("metrics", "metrics", 4),
    ]:
        result = pipeline.ingest(
            signal, (EXAMPLES / f"{name}.json").read_bytes(), "application/json"
        )
        assert (result.accepted, result.rejected) == (count, 0)
    pipeline.close()

    keys = pipeline.storage.list()
    tables = sorted(LAYOUT.fullmatch(f"otel/{key}")["table"] for key in keys)  # type: ignore[index]
    assert tables == [
        "logs",
        "metrics/exponential_histogram",
        "metrics/gauge",
        "metrics/histogram",
        "metrics/sum",
        "traces",
    ]
    assert isinstance(pipeline.storage, FsspecStorage)
    fs, root = pipeline.storage.fs, pipeline.storage.root
    assert root == f"{bucket}/otel"
    assert sorted(fs.find(bucket)) == sorted(f"{root}/{key}" for key in keys)  # straight listing

    logs = pq.read_table(f"{root}/logs", filesystem=fs, partitioning="hive").to_pylist()
    [log] = logs
    assert (log["ServiceName"], log["Body"], log["SeverityText"]) == (
        "my.service",
        "Example log record",
        "Information",
    )
    assert (log["SeverityNumber"], log["TraceId"]) == (10, "5b8efff798038103d269b633813fc60c")
    assert dict(log["LogAttributes"])["int.attribute"] == "10"
    assert (log["year"], log["month"], log["day"], log["hour"]) == (2018, 12, 13, 14)

    con = duckdb.connect()
    con.register_filesystem(fs)
    url = pipeline.storage.url("")
    assert url == f"{store.scheme}://{bucket}/otel"
    span = con.execute(
        f"SELECT SpanName, SpanKind, ParentSpanId, Duration, hour FROM read_parquet("
        f"'{url}/traces/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert span == [("I'm a server span", "Server", "eee19b7ec3c1b173", 1_000_000_000, 14)]
    values = con.execute(
        f"SELECT MetricName, Value FROM read_parquet('{url}/metrics/*/**/*.parquet', "
        "union_by_name=true, hive_partitioning=true) WHERE Value IS NOT NULL ORDER BY 1"
    ).fetchall()
    assert values == [("my.counter", 5.0), ("my.gauge", 10.0)]
    histogram = pq.read_table(
        fs.open(f"{root}/{next(k for k in keys if k.startswith('metrics/histogram/'))}")
    ).to_pylist()
    assert [(h["Count"], h["Sum"], h["BucketCounts"], h["ExplicitBounds"]) for h in histogram] == [
        (2, 2.0, [1, 1], [1.0])
    ]


class Flushes:
    """The files of each ``on_flushed`` call."""

    def __init__(self) -> None:
        self.files: list[WrittenFile] = []

    def __call__(self, files: Any) -> None:
        self.files.extend(files)


def test_missing_bucket_is_a_storage_error_then_nothing_is_lost(
    store: Store, tmp_path: Path
) -> None:
    bucket = f"absent-{uuid.uuid4().hex[:12]}"
    options = store.extra if store.backend == "azure" else {}  # account name + key + endpoint
    pipeline = build_pipeline(tmp_path, **store.settings(bucket, **options))
    kind = store.bucket_key
    with pytest.raises(StorageError, match=f"cannot reach {store.scheme}://{bucket}: {kind}"):
        pipeline.storage.check()
    flushes = Flushes()
    batcher = Batcher(
        write=pipeline.write_file,
        on_flushed=flushes,
        engine=pipeline.engine,
        max_rows=1_000_000,
        max_bytes=1 << 30,
        max_age_secs=3600,
        max_buffered_bytes=1 << 30,
        retry_initial_secs=0.05,
        retry_max_secs=0.2,
    )
    batcher.add_many(list(pipeline.partitioner.split(LOGS, rows([T0, T0 + 1]))))
    with pytest.raises(StorageError) as info:
        batcher.flush()
    message = str(info.value)
    endpoint = store.options.get("endpoint") or store.extra["endpoint"]
    assert f"{kind} '{bucket}'" in message and f"at endpoint {endpoint}" in message, message
    assert f"cannot write {store.scheme}://{bucket}/logs/checkout/year=2024/" in message, message
    assert f"{kind} '{bucket}' not found" in message and "\n" not in message, message
    assert AZURE_KEY not in message
    assert batcher.failing and batcher.buffered_rows == 2  # kept to be retried, not dropped

    store.create(bucket)
    batcher.add_many(list(pipeline.partitioner.split(LOGS, rows([T0 + 2], start_seq=2))))
    batcher.close()
    assert batcher.healthy and len(flushes.files) == 2  # the failed file, then the new one
    storage = pipeline.storage
    stored = [pq.read_table(io.BytesIO(storage.get(key))) for key in storage.list()]
    assert seqs(stored) == [0, 1, 2]


def test_gcs_honours_storage_emulator_host_anonymously(
    gcs: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = gcs.fresh()
    host = gcs.options["endpoint"].removeprefix("http://")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", host)
    storage = make_gcs({"bucket": bucket, "prefix": "p"})
    assert storage.where == f"bucket '{bucket}' at endpoint http://{host} (STORAGE_EMULATOR_HOST)"
    storage.check()
    storage.put("logs/a.parquet", b"one")
    assert storage.get("logs/a.parquet") == b"one"
    assert storage.list() == ["logs/a.parquet"]
    storage.delete("logs/a.parquet")
    with pytest.raises(StorageError, match=rf"gs://{bucket}/p/logs/a\.parquet not found"):
        storage.get("logs/a.parquet")


def test_azure_secrets_from_the_environment_are_masked(azure: Store, tmp_path: Path) -> None:
    container = azure.fresh()
    env = {
        "OTLP2PARQUET_STORAGE_BACKEND": "azure",
        "OTLP2PARQUET_STORAGE_AZURE_CONTAINER": container,
        "OTLP2PARQUET_STORAGE_AZURE_ACCOUNT_NAME": AZURE_ACCOUNT,
        "OTLP2PARQUET_STORAGE_AZURE_ACCOUNT_KEY": AZURE_KEY,
        "OTLP2PARQUET_STORAGE_AZURE_ENDPOINT": azure.extra["endpoint"],
    }
    runtime = bootstrap(None, None, env=env, cwd=tmp_path)
    shown = runtime.config.show(with_origin=True)
    assert AZURE_KEY not in shown
    lines = {line.split(" = ")[0]: line for line in shown.splitlines()}
    assert '"********"' in lines["storage.azure.account_key"]
    assert f'"{azure.extra["endpoint"]}"' in lines["storage.azure.endpoint"]
    storage = runtime.pipeline().storage
    assert isinstance(storage, FsspecStorage)
    storage.put("k", b"v")
    assert storage.get("k") == b"v"
    assert AZURE_KEY not in repr(storage) and AZURE_KEY not in storage.where


def test_clickhouse_reads_azurite_through_the_configured_endpoint(
    azure: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``query clickhouse`` points AzureBlobStorage at ``storage.azure.endpoint``; chDB reads
    the converted examples from Azurite with it."""
    from chdb import session

    from otlp2parquet.cli.main import main

    container = azure.fresh()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nbackend = "azure"\n[storage.azure]\ncontainer = "{container}"\n'
        f'account_name = "{AZURE_ACCOUNT}"\naccount_key = "{AZURE_KEY}"\n'
        f'endpoint = "{azure.extra["endpoint"]}"\n'
    )
    assert main(["--config", str(config), "convert", "--no-progress", str(EXAMPLES)]) == 0
    capsys.readouterr()
    args = ["--config", str(config), "query", "clickhouse", "--print", "--table", "logs"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    where = f"AzureBlobStorage('{azure.extra['endpoint']}', '{container}', 'logs/**/*.parquet'"
    assert where in plain and AZURE_KEY not in plain
    assert main([*args, "--with-credentials"]) == 0
    db = session.Session()
    for statement in capsys.readouterr().out.split(";\n"):
        if statement.strip():
            db.query(statement)
    result = db.query("SELECT ServiceName, count() FROM otel_logs GROUP BY ServiceName", "TSV")
    assert str(result) == "my.service\t2\n"
