"""Table schemas as data (``schemas/*.toml``) and their exports."""
