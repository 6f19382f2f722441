"""The metric rules both engines read (``mapping.metric_rules``): the walk over requests, which data
points become rows, each rejection with its reason, and that both mappers follow them."""

from __future__ import annotations

import subprocess
import sys

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from otlp2parquet.engine.lite.metrics import LiteMetricsMapper
from otlp2parquet.mapping.metric_rules import POINT_TYPES, Points, accept, walk
from otlp2parquet.plugins.map_metrics import MetricsMapper
from otlp2parquet.schema.metric_kinds import KINDS
from otlp2parquet.schema.tables import load_table_schema
from otlp2parquet.types import MappedBatch

ALL = frozenset(KINDS)


def request() -> ExportMetricsServiceRequest:
    """Two resources; the second has two scopes: a gauge of two points (one without a value), a
    metric without data, a summary without points, and a histogram."""
    req = ExportMetricsServiceRequest()
    req.resource_metrics.add().scope_metrics.add().metrics.add(
        name="s", sum=m.Sum(data_points=[m.NumberDataPoint(as_int=3)])
    )
    second = req.resource_metrics.add()
    first_scope = second.scope_metrics.add()
    first_scope.metrics.add(
        name="g", gauge=m.Gauge(data_points=[m.NumberDataPoint(as_double=1.5), m.NumberDataPoint()])
    )
    first_scope.metrics.add(name="empty")
    other_scope = second.scope_metrics.add()
    other_scope.metrics.add(name="q", summary=m.Summary())
    other_scope.metrics.add(
        name="h", histogram=m.Histogram(data_points=[m.HistogramDataPoint(count=2)])
    )
    return req


def test_the_walk_gives_each_metric_with_its_type_points_and_groups() -> None:
    walked = walk([request()])
    assert len(walked.resource_groups) == 2 and len(walked.scope_groups) == 3
    found = [(e[0].name, e[1], len(e[2]), e[3], e[4]) for e in walked.entries]
    assert found == [
        ("s", "sum", 1, 0, 0),
        ("g", "gauge", 2, 1, 1),
        ("empty", None, 0, 1, 1),
        ("q", "summary", 0, 1, 2),
        ("h", "histogram", 1, 1, 2),
    ]


def entry(name: str) -> tuple:
    (found,) = [e for e in walk([request()]).entries if e[0].name == name]
    return found


def test_a_metric_without_data_is_rejected() -> None:
    batch = MappedBatch()
    assert accept(entry("empty"), ALL, batch) == []
    assert (batch.rejected, batch.reasons) == (1, ["metric 'empty' has no data"])


def test_a_metric_without_data_points_is_rejected() -> None:
    batch = MappedBatch()
    assert accept(entry("q"), ALL, batch) == []
    assert (batch.rejected, batch.reasons) == (1, ["metric 'q' (summary) has no data points"])


def test_the_points_of_a_type_without_a_table_are_rejected() -> None:
    batch = MappedBatch()
    assert accept(entry("g"), ALL - {"gauge"}, batch) == []
    assert (batch.rejected, batch.reasons) == (2, ["no table for gauge metrics"])


def test_a_number_point_without_a_value_is_rejected_and_the_others_kept() -> None:
    batch = MappedBatch()
    kept = accept(entry("g"), ALL, batch)
    assert [p.as_double for p in kept] == [1.5]
    assert (batch.rejected, batch.reasons) == (
        1,
        ["metric 'g' (gauge) has data points with no value"],
    )


def test_flags_read_in_bulk_decide_instead_of_the_oneof() -> None:
    batch = MappedBatch()
    gauge = entry("g")
    kept = accept(gauge, ALL, batch, iter([False, True]))
    assert kept == [gauge[2][1]] and batch.rejected == 1
    batch = MappedBatch()
    assert accept(gauge, ALL, batch, iter([False, False])) == [] and batch.rejected == 2


def test_histogram_points_need_no_value_and_are_kept_whole() -> None:
    batch = MappedBatch()
    histogram = entry("h")
    assert accept(histogram, ALL, batch) == histogram[2] and batch.rejected == 0


def test_points_keep_each_metrics_groups() -> None:
    points = Points()
    walked = walk([request()])
    for found in walked.entries:
        kept = accept(found, ALL, MappedBatch())
        if kept:
            points.add(found, kept)
    assert [x.name for x in points.metrics] == ["s", "g", "h"]
    assert (points.counts, points.resource_index, points.scope_index) == (
        [1, 1, 1],
        [0, 1, 1],
        [0, 1, 2],
    )
    assert set(POINT_TYPES) == ALL


def test_both_mappers_reject_and_fill_alike() -> None:
    schemas = {f"metrics_{k}": load_table_schema(f"metrics_{k}") for k in ("sum", "gauge")}
    arrow = MetricsMapper(schemas).map([request()])
    lite = LiteMetricsMapper(schemas).map([request()])
    reasons = [
        "metric 'g' (gauge) has data points with no value",
        "metric 'empty' has no data",
        "metric 'q' (summary) has no data points",
        "no table for histogram metrics",
    ]
    assert (arrow.rejected, arrow.reasons) == (lite.rejected, lite.reasons) == (4, reasons)
    for name in schemas:
        assert arrow.tables[name].column("Value").to_pylist() == lite.tables[name].column("Value")
    assert lite.tables["metrics_gauge"].column("Value") == [1.5]


def test_the_rules_import_without_pyarrow_or_numpy() -> None:
    script = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.partition('.')[0] in ('pyarrow', 'numpy'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import otlp2parquet.mapping.metric_rules, otlp2parquet.engine.lite.metrics\n"
        "print('pyarrow' in sys.modules, 'numpy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
