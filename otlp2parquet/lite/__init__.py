"""The pyarrow-free Parquet path: a pure-Python Parquet writer (``parquet_writer``, over the
Thrift compact protocol in ``thrift``), column values as Python lists (``mapping``, ``values``),
a small pipeline for runtimes without pyarrow (``pipeline``; the Cloudflare Worker), and Iceberg
appends through the REST catalog protocol (``iceberg_rest``, over ``iceberg_manifest`` and the
Avro files of ``avro``).

Nothing here imports pyarrow, numpy or pyiceberg."""
