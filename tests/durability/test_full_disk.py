"""A real server whose disk refuses writes (RLIMIT_FSIZE: the kernel answers EFBIG past the
limit, as it answers ENOSPC on a full disk): every refused request is a 503 with Retry-After
and leaves no spool segment behind, the accepted ones land once, and a restart finds nothing
damaged."""

from __future__ import annotations

import resource
import signal
import time
from pathlib import Path

from support.otlp_server import ServerProcess, rows
from support.spool_support import PROTOBUF, logs_body

LIMIT = 64 * 1024
CONFIG = """
[batch]
max_age_secs = 0.2
[durability]
segment_bytes = 1048576
"""


def refuse_large_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal; kept by exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def post(server: ServerProcess, body: bytes) -> tuple[int, dict[str, str]]:
    status, headers, _ = server.request("POST", "/v1/logs", body, {"Content-Type": PROTOBUF})
    return status, headers


def test_refused_appends_leave_no_segments_and_nothing_damaged(tmp_path: Path) -> None:
    spool = tmp_path / "data" / ".spool"
    big = logs_body(range(10_000, 13_000))  # more than the limit: refused in any segment
    assert len(big) > LIMIT
    with ServerProcess(tmp_path, CONFIG, preexec=refuse_large_files) as server:
        assert post(server, logs_body([1, 2]))[0] == 200
        for _ in range(20):
            status, headers = post(server, big)
            assert status == 503 and int(headers["retry-after"]) >= 1
        assert post(server, logs_body([3]))[0] == 200
        segments = sorted(spool.glob("*.seg"))
        # the first segment, and the one the last request opened: not one per refusal
        assert len(segments) <= 2, [p.name for p in segments]
        assert all(p.stat().st_size < LIMIT for p in segments)
        server.stop(signal.SIGKILL)
    with ServerProcess(tmp_path, CONFIG) as again:
        deadline = time.monotonic() + 10
        while sorted(r["Body"] for r in rows(again.data, "logs")) != ["rec-1", "rec-2", "rec-3"]:
            assert time.monotonic() < deadline, again.log()
            time.sleep(0.1)
    assert "damaged" not in again.log() and "recovered" not in again.log(), again.log()
