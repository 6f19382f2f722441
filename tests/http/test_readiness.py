"""``ReadinessProbe``: one check in flight, results shared and cached, a deadline, and a cap on
the callers that wait."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from otlp2parquet.errors import StorageError, Unavailable
from otlp2parquet.http.readiness import ReadinessProbe


class Store:
    """A check that counts its calls and can hang until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.release.set()
        self.error: Exception | None = None

    def check(self) -> None:
        self.calls += 1
        self.release.wait()
        if self.error is not None:
            raise self.error


def test_concurrent_callers_share_one_check_and_its_cached_result() -> None:
    store = Store()
    store.release.clear()
    probe = ReadinessProbe(store.check, timeout=5, ttl=10, max_waiters=8)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(probe) for _ in range(8)]
        time.sleep(0.2)
        store.release.set()
        assert [f.result(5) for f in futures] == [None] * 8
    probe()
    assert store.calls == 1


def test_a_hung_check_answers_at_its_deadline_then_at_once_without_a_second_check() -> None:
    store = Store()
    store.release.clear()
    probe = ReadinessProbe(store.check, timeout=0.3, ttl=0)
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"within 0.3 s \(server.ready_timeout_secs\)"):
        probe()
    assert 0.25 < time.monotonic() - started < 1.0
    started = time.monotonic()
    with pytest.raises(Unavailable):
        probe()
    assert time.monotonic() - started < 0.1 and store.calls == 1
    store.release.set()
    time.sleep(0.1)
    probe()  # the hung check finished: a fresh one runs and passes
    assert store.calls == 2


def test_callers_past_the_waiter_cap_are_answered_at_once() -> None:
    store = Store()
    store.release.clear()
    probe = ReadinessProbe(store.check, timeout=5, ttl=0, max_waiters=1)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(probe)
        time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(Unavailable, match="already running"):
            probe()
        assert time.monotonic() - started < 0.1
        store.release.set()
        assert waiting.result(5) is None


def test_a_failing_check_is_unavailable_with_its_message_to_every_caller() -> None:
    store = Store()
    store.error = StorageError("cannot reach s3://bucket/prefix")
    probe = ReadinessProbe(store.check, timeout=1, ttl=10)
    for _ in range(2):
        with pytest.raises(Unavailable, match="cannot reach s3://bucket/prefix"):
            probe()
    assert store.calls == 1
