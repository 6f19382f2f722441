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
    import numpy as np
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
        """One part per (service, UTC hour), in order of first appearance. A request's rows
        come grouped by resource, so groups are usually runs of rows and parts are zero-copy
        slices; otherwise the rows are put in group order by one ``take`` and then sliced."""
        import numpy as np

        self._remember(schema)
        if not table.num_rows:
            return
        codes, names, hours = _keys(schema, table)
        if len(names) == 1 and hours[0] == hours[-1] and (hours == hours[0]).all():
            yield self._partition(schema, names[0], int(hours[0])), table
            return
        change = np.flatnonzero((codes[1:] != codes[:-1]) | (hours[1:] != hours[:-1])) + 1
        starts = np.concatenate(([0], change))
        run_keys = list(zip(codes[starts].tolist(), hours[starts].tolist(), strict=True))
        if len(set(run_keys)) < len(run_keys):  # a group in several runs: one take first
            order, starts, run_keys = _group_order(codes, hours)
            table = table.take(order)
        stops = [*starts[1:].tolist(), table.num_rows]
        for (code, hour), start, stop in zip(run_keys, starts.tolist(), stops, strict=True):
            yield self._partition(schema, names[code], hour), table.slice(start, stop - start)

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
    def _partition(schema: TableSchema, service: str, hour: int) -> Partition:
        return Partition(schema.name, service, hour, hour_values(hour))

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


def _keys(schema: TableSchema, table: pa.Table) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Every row's service (code into the distinct names) and UTC hour start (µs)."""
    import pyarrow as pa

    services = table.column(schema.service_column).cast(pa.string()).fill_null("")
    encoded = services.combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    times = table.column(schema.time_column).cast(pa.timestamp("us", "UTC")).cast(pa.int64())
    micros = times.fill_null(0).to_numpy()
    return codes, encoded.dictionary.to_pylist(), micros - micros % HOUR_US


def _group_order(
    codes: np.ndarray, hours: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Rows in (service, hour) group order, groups by first appearance: the row order, each
    group's first position in it and its key."""
    import numpy as np

    _, first, group = np.unique(
        np.stack([codes.astype(np.int64), hours]), axis=1, return_index=True, return_inverse=True
    )
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    order = np.argsort(rank[group.ravel()], kind="stable")
    starts = np.flatnonzero(np.diff(rank[group.ravel()][order], prepend=-1))
    keys = [(int(codes[order[i]]), int(hours[order[i]])) for i in starts.tolist()]
    return order, starts, keys


def make_hive_hourly(options: dict[str, Any]) -> HiveHourly:
    return HiveHourly()


@hookimpl
def register_partitioners(register: Any) -> None:
    register(name="hive_hourly", factory=make_hive_hourly)
