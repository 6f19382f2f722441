"""Run inside Pyodide by tests/pyodide/run.mjs. Three parts:

1. the lite Parquet writer: each table of /stage/columns.json to /out/<table>.parquet;
2. the Worker's protobuf path minus the bindings: /stage/<signal>.pb decoded by otlp2parquet's
   protobuf decoder (protobuf's pure-Python implementation), mapped by the lite mappers and
   written to /out/mapped-<table>.parquet;
3. the Worker's Iceberg files: a manifest and a manifest list (Avro) adding the mapped logs file
   to the table whose metadata is /stage/iceberg.json, as /out/manifest.avro and
   /out/manifest-list.avro.

A report goes to /out/report.json."""

import importlib.util
import json
import os
import sys

os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"  # no upb build in the stage

from otlp2parquet.engine.lite.mapping import LiteRecordMapper, LiteTable
from otlp2parquet.engine.lite.metrics import LiteMetricsMapper
from otlp2parquet.engine.lite.parquet_writer import LiteParquetWriter
from otlp2parquet.plugins.catalog_iceberg.lite.iceberg_manifest import (
    DataFile,
    TableLayout,
    manifest,
    manifest_list,
)
from otlp2parquet.plugins.decode_protobuf import ProtobufDecoder
from otlp2parquet.schema.tables import list_table_schemas, load_table_schema

writer = LiteParquetWriter(row_group_size=2)
with open("/stage/columns.json", encoding="utf-8") as source:
    tables = json.load(source)
for name, columns in tables.items():
    schema = load_table_schema(name)
    with open(f"/out/{name}.parquet", "wb") as sink:
        sink.write(writer.to_bytes(LiteTable(schema, columns), schema))

decoder = ProtobufDecoder()
rows = {}
for signal in ("logs", "traces", "metrics"):
    schemas = {s.name: s for s in list_table_schemas() if s.signal == signal}
    mapper = (
        LiteMetricsMapper(schemas) if signal == "metrics" else LiteRecordMapper(signal, schemas)
    )
    with open(f"/stage/{signal}.pb", "rb") as source:
        mapped = mapper.map(decoder.decode(source.read(), signal))
    for name, table in mapped.tables.items():
        rows[name] = table.num_rows
        if name == "logs":
            mapped_logs = table
        with open(f"/out/mapped-{name}.parquet", "wb") as sink:
            sink.write(writer.to_bytes(table, schemas[name]))

with open("/stage/iceberg.json", encoding="utf-8") as source:
    iceberg = json.load(source)
layout = TableLayout.from_metadata(iceberg["metadata"], "otel_logs")
logs = load_table_schema("logs")
first = min(mapped_logs.column(logs.time_column))  # the samples span hours: one hour's bounds
data_file = DataFile(
    path="s3://otlp-data/logs/mapped-logs.parquet",
    rows=mapped_logs.num_rows,
    size=os.path.getsize("/out/mapped-logs.parquet"),
    service_column=logs.service_column,
    service=iceberg["service"],
    time_column=logs.time_column,
    min_ts_us=first,
    max_ts_us=first,
)
manifest_bytes, summaries = manifest(layout, [data_file], snapshot_id=7)
with open("/out/manifest.avro", "wb") as sink:
    sink.write(manifest_bytes)
entry = {
    "manifest_path": iceberg["manifest_path"],
    "manifest_length": len(manifest_bytes),
    "partition_spec_id": layout.spec_id,
    "content": 0,
    "sequence_number": 1,
    "min_sequence_number": 1,
    "added_snapshot_id": 7,
    "added_files_count": 1,
    "existing_files_count": 0,
    "deleted_files_count": 0,
    "added_rows_count": data_file.rows,
    "existing_rows_count": 0,
    "deleted_rows_count": 0,
    "partitions": summaries,
    "key_metadata": None,
}
with open("/out/manifest-list.avro", "wb") as sink:
    sink.write(manifest_list([entry], 7, None, 1))

report = {
    "platform": sys.platform,
    "version": sys.version,
    "pyarrow": importlib.util.find_spec("pyarrow") is not None,
    "numpy_loaded": "numpy" in sys.modules,
    "protobuf": sys.modules["google.protobuf.internal.api_implementation"].Type(),
    "rows": rows,
}
with open("/out/report.json", "w", encoding="utf-8") as sink:
    json.dump(report, sink)
