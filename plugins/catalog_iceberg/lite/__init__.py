"""The pure-Python Iceberg REST client (Avro manifests, commits) the Worker uses."""
