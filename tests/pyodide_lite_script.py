"""Run inside Pyodide by tests/pyodide/run.mjs. Two parts:

1. the lite Parquet writer: each table of /stage/columns.json to /out/<table>.parquet;
2. the Worker's protobuf path minus the bindings: /stage/<signal>.pb decoded by otlp2parquet's
   protobuf decoder (protobuf's pure-Python implementation), mapped by the lite mappers and
   written to /out/mapped-<table>.parquet.

A report goes to /out/report.json."""

import importlib.util
import json
import os
import sys

os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"  # no upb build in the stage

from otlp2parquet.plugins.decode_protobuf import ProtobufDecoder

from otlp2parquet.lite.mapping import LiteRecordMapper, LiteTable
from otlp2parquet.lite.metrics import LiteMetricsMapper
from otlp2parquet.lite.parquet_writer import LiteParquetWriter
from otlp2parquet.schema import list_table_schemas, load_table_schema

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
        with open(f"/out/mapped-{name}.parquet", "wb") as sink:
            sink.write(writer.to_bytes(table, schemas[name]))

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
