"""The pyarrow-free Parquet path: a pure-Python Parquet writer (``parquet_writer``, with its
type mapping in ``parquet_types``, chunk statistics in ``statistics``, encodings in
``encoding`` and the Thrift compact protocol in ``thrift``), column values as Python lists
(``mapping``, ``values``), a small pipeline for runtimes without pyarrow (``pipeline``; the
Cloudflare Worker), and Iceberg appends through the REST catalog protocol (``iceberg_rest``,
over ``rest_catalog``, ``iceberg_manifest`` and the Avro files of ``avro``).

Nothing here imports pyarrow, numpy or pyiceberg."""
