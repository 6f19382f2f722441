"""The pyarrow-free engine: columns as Python lists and a pure-Python Parquet writer."""
