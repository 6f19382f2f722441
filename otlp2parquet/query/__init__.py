"""Query helpers over the lake: DuckDB views and ClickHouse tables."""
