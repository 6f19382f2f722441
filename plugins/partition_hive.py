"""The ``hive_hourly`` partitioner (the default ``partitioning.scheme``).

Keys follow the layout users of the Rust tool know::

    {signal}[/{metric type}]/{service}/year=YYYY/month=MM/day=DD/hour=HH/{ts_us}-{uuid32}.parquet

Each file holds one table, one service and one UTC hour. Unlike the Rust tool, a table that spans
an hour boundary is split instead of being filed under its first record's hour. The service
segment is made safe for any input (see ``safe_segment``), so no key can leave the storage prefix.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from otlp2parquet import hookimpl
from otlp2parquet.errors import PluginError
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import Partition

if TYPE_CHECKING:
    import pyarrow as pa

HOUR_US = 3_600_000_000
UNKNOWN_SERVICE = "unknown-service"
#: Longest segment in UTF-8 bytes; file systems allow 255 per path component.
MAX_SEGMENT_BYTES = 120
_DOTS = re.compile(r"\.{2,}")
_TOKEN = re.compile(r"[0-9a-f]{32}")
#: Names Windows refuses for a file or directory, whatever the extension.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{port}{i}" for port in ("COM", "LPT") for i in range(1, 10)
}


def safe_segment(name: str, empty: str = UNKNOWN_SERVICE) -> str:
    """``name`` as one path segment that every store and query engine takes literally.

    Letters and digits of any script, ``-``, ``_`` and single dots are kept; everything else
    (``/``, ``\\``, ``=``, ``:``, glob characters, whitespace, control characters) becomes
    ``_``; dot runs collapse; leading ``.``/``_`` (hidden to Spark and Hive) and trailing dots go;
    Windows device names get a ``_`` suffix; names longer than ``MAX_SEGMENT_BYTES`` are cut and
    end in ``-`` plus a hash of the original, so distinct long names stay distinct.
    """
    text = unicodedata.normalize("NFC", name)
    text = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
    text = _DOTS.sub("_", text).lstrip("._").rstrip(".")
    if not text:
        return empty
    stem, dot, rest = text.partition(".")
    if stem.upper() in _WINDOWS_RESERVED:
        text = f"{stem}_{dot}{rest}"
    if len(text.encode()) > MAX_SEGMENT_BYTES:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        keep = text.encode()[: MAX_SEGMENT_BYTES - len(digest) - 1].decode("utf-8", "ignore")
        text = f"{keep.rstrip('.')}-{digest}"
    return text


def hour_values(bucket_start_us: int) -> tuple[tuple[str, str], ...]:
    """Hive partition values of the UTC hour starting at ``bucket_start_us``."""
    when = datetime.fromtimestamp(bucket_start_us // 1_000_000, UTC)
    return (
        ("year", str(when.year)),
        ("month", f"{when.month:02d}"),
        ("day", f"{when.day:02d}"),
        ("hour", f"{when.hour:02d}"),
    )


class HiveHourly:
    """Splits tables by service and UTC hour and names their files."""

    def __init__(self) -> None:
        self._paths: dict[str, str] = {}

    def split(self, schema: TableSchema, table: pa.Table) -> Iterator[tuple[Partition, pa.Table]]:
        import pyarrow as pa
        import pyarrow.compute as pc

        self._remember(schema)
        services = table.column(schema.service_column).cast(pa.string()).fill_null("")
        times = table.column(schema.time_column).cast(pa.timestamp("us", "UTC"))
        hours = pc.floor_temporal(times, 1, "hour").cast(pa.int64()).fill_null(0)
        distinct_services = pc.unique(services)
        distinct_hours = pc.unique(hours)
        if len(distinct_services) == 1 and len(distinct_hours) == 1:
            yield self._partition(schema, distinct_services[0].as_py(), distinct_hours[0]), table
            return
        keys = pa.table({"s": services, "h": hours, "i": pa.array(range(table.num_rows))})
        groups = keys.group_by(["s", "h"], use_threads=False).aggregate([("i", "list")])
        for service, hour, rows in zip(
            groups.column("s").to_pylist(),
            groups.column("h"),
            groups.column("i_list"),
            strict=True,
        ):
            yield self._partition(schema, service, hour), table.take(rows.values)

    def split_rows(
        self, schema: TableSchema, services: Sequence[str | None], times_us: Sequence[int]
    ) -> list[tuple[Partition, list[int]]]:
        """``split`` for plain lists (the pyarrow-free path): each (service, UTC hour) group's
        partition and row numbers, groups in order of first appearance."""
        self._remember(schema)
        groups: dict[tuple[str, int], list[int]] = {}
        for row, (service, when) in enumerate(zip(services, times_us, strict=True)):
            hour = (when or 0) - (when or 0) % HOUR_US
            groups.setdefault((service or "", hour), []).append(row)
        return [
            (Partition(schema.name, service, hour, hour_values(hour)), rows)
            for (service, hour), rows in groups.items()
        ]

    def _remember(self, schema: TableSchema) -> None:
        self._paths[schema.name] = "/".join(safe_segment(p, "_") for p in schema.path.split("/"))

    @staticmethod
    def _partition(schema: TableSchema, service: str, hour: pa.Scalar) -> Partition:
        start = int(hour.as_py())
        return Partition(schema.name, service, start, hour_values(start))

    def object_key(self, partition: Partition, first_ts_us: int, token: str) -> str:
        path = self._paths.get(partition.table)
        if path is None:
            raise PluginError(
                f"hive_hourly: no layout path known for table {partition.table!r}; "
                "object_key() needs a partition made by split()"
            )
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"file token must be 32 lowercase hex digits, got {token!r}")
        hive = "/".join(f"{name}={value}" for name, value in hour_values(partition.bucket_start_us))
        return f"{path}/{safe_segment(partition.service)}/{hive}/{int(first_ts_us)}-{token}.parquet"


def make_hive_hourly(options: dict[str, Any]) -> HiveHourly:
    return HiveHourly()


@hookimpl
def register_partitioners(register: Any) -> None:
    register(name="hive_hourly", factory=make_hive_hourly)
