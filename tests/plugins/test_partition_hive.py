"""The hive_hourly partitioner: layout, hour-boundary splits and path safety."""

from __future__ import annotations

import posixpath
import re
import unicodedata

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from otlp2parquet.errors import PluginError
from otlp2parquet.plugin.manager import build_plugin_manager, collect_registry
from otlp2parquet.plugins.partition_hive import (
    MAX_SEGMENT_BYTES,
    UNKNOWN_SERVICE,
    HiveHourly,
    safe_segment,
)
from support.writepath_tables import GAUGE, HOUR_US, LOGS, T0, rows, seqs

TOKEN = "0123456789abcdef0123456789abcdef"
KEY = re.compile(
    r"(logs|traces|metrics/(gauge|sum|histogram|exponential_histogram|summary))/[^/]+/"
    r"year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/-?\d+-[0-9a-f]{32}\.parquet"
)
HOSTILE = [
    "../../etc",
    "..",
    ".",
    "a/b",
    "/abs",
    "C:\\x",
    "x\x00y",
    "tab\there\nnewline",
    "a=b",
    "*?[glob]",
    "s3://bucket/key",
    "memory::chained",
    "%2e%2e%2f",
    "\u202eright-to-left",
    "e\u0301",
    "x" * 10_000,
    "é" * 10_000,
    "",
    "   ",
    "con",
    "LPT1.log",
    ".hidden",
    "_hidden",
    "日本語サービス",
]


def test_registered_by_register_partitioners_hook() -> None:
    registry = collect_registry(build_plugin_manager(autoload=False))
    component = registry.get("partitioner", "hive_hourly")
    assert component.plugin == "partition_hive"
    assert isinstance(component.factory({}), HiveHourly)


def test_layout_matches_reference() -> None:
    part = HiveHourly()
    [(partition, _)] = part.split(LOGS, rows([T0 + 5, T0 + 10], "checkout"))
    assert partition.values == (("year", "2024"), ("month", "05"), ("day", "06"), ("hour", "07"))
    assert partition.key == (LOGS.name, "checkout", T0)
    key = part.object_key(partition, T0 + 5, TOKEN)
    assert key == f"logs/checkout/year=2024/month=05/day=06/hour=07/{T0 + 5}-{TOKEN}.parquet"
    [(gauge, _)] = part.split(GAUGE, rows([T0], "api", schema=GAUGE))
    assert part.object_key(gauge, T0, TOKEN).startswith("metrics/gauge/api/year=2024/")


def test_year_is_unpadded_and_month_day_hour_padded() -> None:
    part = HiveHourly()
    [(partition, _)] = part.split(LOGS, rows([9 * HOUR_US]))  # 1970-01-01T09
    assert part.object_key(partition, 9 * HOUR_US, TOKEN).startswith(
        "logs/checkout/year=1970/month=01/day=01/hour=09/"
    )


def test_split_by_service_and_hour_boundary_keeps_every_row_in_order() -> None:
    times = [T0 - 1, T0, T0 + HOUR_US - 1, T0 + HOUR_US, T0 - 2, T0 + 1]
    services = ["a", "a", "a", "a", "b", "a"]
    parts = list(HiveHourly().split(LOGS, rows(times, services)))
    got = {(p.service, p.bucket_start_us): t.column("Seq").to_pylist() for p, t in parts}
    assert got == {
        ("a", T0 - HOUR_US): [0],
        ("a", T0): [1, 2, 5],
        ("a", T0 + HOUR_US): [3],
        ("b", T0 - HOUR_US): [4],
    }
    assert seqs(t for _, t in parts) == list(range(6))


def test_groups_in_runs_are_zero_copy_slices_in_order_of_first_appearance() -> None:
    """A request's rows come grouped by resource: each run becomes a slice of the input (its
    buffers are the input's), with no copy of the rows."""
    times = [T0, T0 + 1, T0 + 2, T0 + HOUR_US, T0 + 3, T0 + 4]
    services = ["b", "b", "a", "a", "c", "c"]
    table = rows(times, services)
    parts = list(HiveHourly().split(LOGS, table))
    assert [(p.service, p.bucket_start_us) for p, _ in parts] == [
        ("b", T0),
        ("a", T0),
        ("a", T0 + HOUR_US),
        ("c", T0),
    ]
    assert [t.column("Seq").to_pylist() for _, t in parts] == [[0, 1], [2], [3], [4, 5]]
    body = table.column("Body").chunk(0).buffers()[2]
    for _, part in parts:
        assert part.column("Body").chunk(0).buffers()[2].address == body.address


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "", "c"]), st.integers(-3, 3)), min_size=1))
def test_split_matches_a_plain_grouping_of_any_rows(keys: list[tuple[str, int]]) -> None:
    services = [s for s, _ in keys]
    times = [T0 + h * HOUR_US // 2 for _, h in keys]
    expected: dict[tuple[str, int], list[int]] = {}
    for seq, (service, when) in enumerate(zip(services, times, strict=True)):
        expected.setdefault((service, when - when % HOUR_US), []).append(seq)
    parts = list(HiveHourly().split(LOGS, rows(times, services)))
    got = {(p.service, p.bucket_start_us): t.column("Seq").to_pylist() for p, t in parts}
    assert got == expected
    assert [p.key[1:] for p, _ in parts] == list(expected)  # groups by first appearance


def test_single_group_is_passed_through_unsplit() -> None:
    table = rows([T0, T0 + 1])
    [(_, out)] = HiveHourly().split(LOGS, table)
    assert out is table


def test_null_service_and_empty_service_go_to_unknown_service() -> None:
    table = rows([T0, T0]).set_column(1, "ServiceName", pa.array([None, ""], pa.string()))
    part = HiveHourly()
    [(partition, _)] = part.split(LOGS, table)
    assert f"/{UNKNOWN_SERVICE}/" in part.object_key(partition, T0, TOKEN)


def test_object_key_refuses_bad_tokens_and_unknown_tables() -> None:
    part = HiveHourly()
    [(partition, _)] = part.split(LOGS, rows([T0]))
    with pytest.raises(ValueError, match="32 lowercase hex"):
        part.object_key(partition, T0, "../../x")
    with pytest.raises(PluginError, match="split"):
        HiveHourly().object_key(partition, T0, TOKEN)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_service_names_never_leave_the_prefix(name: str) -> None:
    part = HiveHourly()
    [(partition, _)] = part.split(LOGS, rows([T0], name))
    key = part.object_key(partition, T0, TOKEN)
    assert KEY.fullmatch(key), key
    full = posixpath.join("bucket/prefix", key)
    assert posixpath.normpath(full) == full
    assert len(key.split("/")) == 7
    assert_safe(key.split("/")[1])


def assert_safe(segment: str) -> None:
    assert segment and segment not in (".", "..")
    assert ".." not in segment and "/" not in segment and "\\" not in segment
    assert "=" not in segment and not segment.startswith((".", "_"))
    assert not any(unicodedata.category(ch).startswith("C") for ch in segment)
    assert len(segment.encode()) <= MAX_SEGMENT_BYTES


@given(st.text(max_size=400))
def test_any_text_gives_a_safe_segment(name: str) -> None:
    assert_safe(safe_segment(name))


def test_plain_names_are_kept_and_long_names_stay_distinct() -> None:
    for name in ("checkout", "my.service", "frontend-proxy", "ad_service", "日本語サービス"):
        assert safe_segment(name) == name
    assert safe_segment("") == UNKNOWN_SERVICE
    long_a, long_b = "x" * 5000 + "a", "x" * 5000 + "b"
    assert safe_segment(long_a) != safe_segment(long_b)
    assert re.fullmatch(r"x+-[0-9a-f]{16}", safe_segment(long_a))
