"""Table engines: Arrow tables and pyarrow's writer, and the pure-Python engine."""
