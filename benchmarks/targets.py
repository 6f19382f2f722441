"""The targets of issues 8 and 17, checked against a benchmark report. A target whose measurement is
not in the report is listed as not measured, never as met."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: RSS counts as flat when its average over the last minute of a five-minute run is less than
#: this many percent above its average over the second minute (see ``server_load._flatness``).
FLAT_PCT = 10.0
SOAK_SECS = 290.0
Report = dict[str, Any]


def _pipeline(workload: str, encoding: str, key: str) -> Callable[[Report], float | None]:
    def get(report: Report) -> float | None:
        for row in report.get("pipeline", []):
            if row["workload"] == workload and row["encoding"] == encoding:
                value = row.get(key)
                return None if value is None else float(value)
        return None

    return get


def _server(workers: int, key: str) -> Callable[[Report], float | None]:
    def get(report: Report) -> float | None:
        for run in report.get("server", []):
            if run["workers"] == workers:
                return float(run[key])
        return None

    return get


def _scaling(report: Report) -> float | None:
    one, two = _server(1, "records_per_s")(report), _server(2, "records_per_s")(report)
    return two / one if one and two else None


def _convert(signal: str) -> Callable[[Report], float | None]:
    def get(report: Report) -> float | None:
        for row in report.get("convert", []):
            if row["signal"] == signal:
                return float(row["fraction_of_floor"])
        return None

    return get


def _memory(report: Report) -> float | None:
    return report["memory"]["ratio"] if "memory" in report else None


def _soak(report: Report) -> float | None:
    for run in report.get("server", []):
        if run.get("rss_growth_pct") is not None and run["seconds"] >= SOAK_SECS:
            return float(run["rss_growth_pct"])
    return None


def _cold(key: str) -> Callable[[Report], float | None]:
    def get(report: Report) -> float | None:
        return float(report["coldstart"][key]) if "coldstart" in report else None

    return get


def _cli(key: str) -> Callable[[Report], float | None]:
    """A CLI start-up median (``coldstart.cli``; absent from reports before issue 17)."""

    def get(report: Report) -> float | None:
        cli = report.get("coldstart", {}).get("cli")
        return float(cli[key]) if cli else None

    return get


#: (description, how to read the value, comparison, threshold, unit)
TARGETS: list[tuple[str, Callable[[Report], float | None], str, float, str]] = [
    ("logs protobuf → Parquet", _pipeline("L", "protobuf", "ours_records_per_s"), ">=", 100_000,
     "records/s"),
    ("logs protobuf vs baseline", _pipeline("L", "protobuf", "ratio_to_baseline"), ">=", 10, "×"),
    ("logs protobuf vs floor", _pipeline("L", "protobuf", "fraction_of_floor"), ">=", 0.3, ""),
    ("logs OTLP/JSON → Parquet", _pipeline("L", "json", "ours_records_per_s"), ">=", 70_000,
     "records/s"),
    ("traces protobuf → Parquet", _pipeline("T", "protobuf", "ours_records_per_s"), ">=", 50_000,
     "spans/s"),
    ("metrics protobuf → Parquet", _pipeline("M", "protobuf", "ours_records_per_s"), ">=",
     100_000, "points/s"),
    # issue 17: end to end (request bytes → files in storage) as a fraction of the floor
    ("end to end: logs protobuf vs floor", _pipeline("L", "protobuf", "fraction_of_floor"),
     ">=", 0.5, ""),
    ("end to end: spans protobuf vs floor", _pipeline("T", "protobuf", "fraction_of_floor"),
     ">=", 0.45, ""),
    ("end to end: points protobuf vs floor", _pipeline("M", "protobuf", "fraction_of_floor"),
     ">=", 0.4, ""),
    *((f"end to end: {name} {encoding} vs floor", _pipeline(w, encoding, "fraction_of_floor"),
       ">=", 0.9, "") for w, name in (("L", "logs"), ("T", "spans"), ("M", "points"))
      for encoding in ("json", "jsonl")),
    ("convert, 200,000 logs vs floor", _convert("logs"), ">=", 0.5, ""),
    ("convert, 100,000 spans vs floor", _convert("traces"), ">=", 0.4, ""),
    ("convert, 100,000 points vs floor", _convert("metrics"), ">=", 0.4, ""),
    ("server, 8 clients, 2 workers", _server(2, "records_per_s"), ">=", 50_000, "records/s"),
    ("server p99 latency, 2 workers", _server(2, "p99_ms"), "<", 250, "ms"),
    ("scaling: 2 workers vs 1", _scaling, ">=", 1.6, "×"),
    ("one 64 MiB request: peak RSS growth", _memory, "<=", 4, "× body"),
    ("RSS flat under 5 minutes of load", _soak, "<", FLAT_PCT, "% growth"),
    ("Lambda handler import", _cold("import_ms"), "<=", 400, "ms"),
    ("first small request answered", _cold("first_request_ms"), "<=", 1000, "ms"),
    ("otlp2parquet --version (median)", _cli("version_ms"), "<=", 250, "ms"),
    ("otlp2parquet --help (median)", _cli("help_ms"), "<=", 250, "ms"),
]  # fmt: skip


def evaluate(report: Report) -> list[dict[str, Any]]:
    results = []
    for name, read, op, threshold, unit in TARGETS:
        value = read(report)
        met = None
        if value is not None:
            met = {">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[op]
        results.append(
            {"target": name, "value": value, "op": op, "threshold": threshold, "unit": unit,
             "met": met}
        )  # fmt: skip
    return results


def format_targets(results: list[dict[str, Any]]) -> str:
    lines = ["targets (issues 8 and 17)"]
    for r in results:
        mark = {True: "met", False: "NOT MET", None: "not measured"}[r["met"]]
        value = "-" if r["value"] is None else f"{r['value']:,.2f}"
        lines.append(
            f"  {mark:<13}{r['target']:<40}{value:>14} {r['unit']:<10}"
            f"(target {r['op']} {r['threshold']:,})"
        )
    return "\n".join(lines)
