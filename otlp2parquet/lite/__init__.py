"""The pyarrow-free Parquet path: a pure-Python Parquet writer (``parquet_writer``, over the
Thrift compact protocol in ``thrift``), column values as Python lists (``mapping``, ``values``)
and a small pipeline for runtimes without pyarrow (``pipeline``; the Cloudflare Worker).

Nothing here imports pyarrow or numpy."""
