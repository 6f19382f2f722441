"""The mapper shape shared by signals with one row per record (logs, traces): requests →
resource groups → scope groups → records, every table filled from its schema file's plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.types import MappedBatch

if TYPE_CHECKING:  # imported on use: registering the plugins needs neither (lite path)
    import pyarrow as pa

LEVELS = ("resource_group", "scope_group", "record")


class RecordMapper:
    """Fills each table from its extraction plan, a chunk of records at a time. Subclasses name
    the signal, the request's repeated fields (resources, scopes, records) and the record's
    protobuf message type."""

    signal: ClassVar[str]
    groups: ClassVar[tuple[str, str, str]]
    record_type: ClassVar[str]
    #: Reads protobuf requests from their bodies (record views): the pipeline lets the parsed
    #: messages go before mapping (``protoview.Parsed.released``).
    reads_bodies: ClassVar[bool] = True

    def __init__(self, schemas: Mapping[str, TableSchema]) -> None:
        from otlp2parquet.mapping.columns import TablePlan

        self.plans = {name: TablePlan(schema, LEVELS) for name, schema in schemas.items()}

    def map(self, requests: Sequence[Any]) -> MappedBatch:
        import pyarrow as pa

        from otlp2parquet.mapping.columns import request_rows

        rows = request_rows(requests, *self.groups, self.record_type)
        batch = MappedBatch()
        if rows.count:
            pieces: dict[str, list[pa.Table]] = {name: [] for name in self.plans}
            for chunk in rows.chunks():
                cache: dict[Any, Any] = {}
                for name, plan in self.plans.items():
                    pieces[name].append(plan.build(chunk, cache))
            for name, tables in pieces.items():
                batch.tables[name] = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        return batch
