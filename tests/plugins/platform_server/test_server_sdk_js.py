"""The official OpenTelemetry JavaScript SDK exporters (OTLP/HTTP JSON, plain and gzip, which
node sends chunked) against a real ``otlp2parquet serve``: logs, spans and every metric kind
the JS SDK produces come back from the Parquet files with their values.

``tests/js/send.js`` is the sender; its packages are pinned in ``tests/js/package-lock.json``
and installed with ``npm ci`` on first use."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.otlp_server import ServerProcess, rows

JS_DIR = Path(__file__).resolve().parents[2] / "js"
SERVICE = "js-sender"
DEFAULT_BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the OpenTelemetry JS SDK exporters need Node.js")
    if not (JS_DIR / "node_modules" / "@opentelemetry").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is installed but npm is not; install npm to run these"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, timeout=600)
    return node


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path, "") as proc:
        yield proc


def send(node: str, url: str, compression: str) -> dict[str, Any]:
    done = subprocess.run(
        [node, "send.js", url, compression],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    sent: dict[str, Any] = json.loads(done.stdout)
    for signal in ("spans", "logs", "metrics"):
        assert sent[signal]["result"] == {"code": 0, "error": None}, sent
    return sent


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_js_sdk_exporters(node: str, server: ServerProcess, compression: str) -> None:
    sent = send(node, server.url, compression)
    spans = sent["spans"]
    assert server.stop() == 0, server.log()  # the shutdown flush writes everything
    data = server.data

    logs = sorted(rows(data, "logs"), key=lambda r: int(r["SeverityNumber"]))
    assert [r["ServiceName"] for r in logs] == [SERVICE] * 2
    info, error = logs
    assert (info["Body"], info["SeverityNumber"], info["SeverityText"]) == (
        "hello from js",
        9,
        "INFO",
    )
    assert dict(info["LogAttributes"]) == {
        "user": "alice", "count": "3", "ratio": "0.5", "ok": "true", "tags": '["a","b"]',
    }  # fmt: skip
    assert (info["TraceId"], info["SpanId"]) == (spans["traceId"], spans["parentSpanId"])
    assert (info["ScopeName"], info["ScopeVersion"]) == ("js-logger", "0.1.0")
    assert dict(info["ResourceAttributes"])["deployment.environment"] == "test"
    assert (error["Body"], error["EventName"], error["SeverityNumber"]) == (
        '{"k":"v","n":1}',
        "js.event",
        17,
    )

    by_name = {r["SpanName"]: r for r in rows(data, "traces")}
    assert set(by_name) == {"GET /checkout", "db.query", "background"}
    checkout, query = by_name["GET /checkout"], by_name["db.query"]
    assert (checkout["SpanKind"], checkout["SpanId"]) == ("Server", spans["parentSpanId"])
    assert dict(checkout["SpanAttributes"]) == {"http.method": "GET", "http.status_code": "200"}
    assert (query["SpanKind"], query["ParentSpanId"]) == ("Client", spans["parentSpanId"])
    assert (query["StatusCode"], query["StatusMessage"]) == ("Error", "timeout")
    assert query["Events.Name"] == ["retry"]
    assert [dict(a) for a in query["Events.Attributes"]] == [{"attempt": "2"}]
    assert query["Links.TraceId"] == [spans["backgroundTraceId"]]
    assert query["Links.SpanId"] == [spans["backgroundSpanId"]]
    assert [dict(a) for a in query["Links.Attributes"]] == [{"reason": "follows"}]
    assert (query["ScopeName"], query["ScopeVersion"]) == ("js-tracer", "1.2.3")
    assert by_name["background"]["SpanKind"] == "Internal"

    sums = {r["MetricName"]: r for r in rows(data, "metrics/sum")}
    assert (sums["js.requests"]["Value"], sums["js.requests"]["IsMonotonic"]) == (7, True)
    assert dict(sums["js.requests"]["Attributes"]) == {"route": "/a"}
    assert (sums["js.requests"]["MetricDescription"], sums["js.requests"]["MetricUnit"]) == (
        "requests",
        "1",
    )
    assert (sums["js.queue"]["Value"], sums["js.queue"]["IsMonotonic"]) == (3, False)
    gauges = {r["MetricName"]: r for r in rows(data, "metrics/gauge")}
    assert {k: r["Value"] for k, r in gauges.items()} == {"js.temperature": 21.5, "js.memory": 1024}
    assert dict(gauges["js.temperature"]["Attributes"]) == {"room": "lab"}
    (hist,) = rows(data, "metrics/histogram")
    assert (hist["MetricName"], hist["Count"], hist["Sum"]) == ("js.latency", 3, 555)
    assert (hist["Min"], hist["Max"], hist["AggregationTemporality"]) == (5, 500, 2)
    assert hist["ExplicitBounds"] == DEFAULT_BOUNDS
    assert sum(hist["BucketCounts"]) == 3
    (exp,) = rows(data, "metrics/exponential_histogram")
    assert (exp["MetricName"], exp["Count"], exp["Sum"], exp["Min"], exp["Max"]) == (
        "js.size",
        4,
        15,
        1,
        8,
    )
    assert sum(exp["PositiveBucketCounts"]) == 4 and exp["NegativeBucketCounts"] == []
