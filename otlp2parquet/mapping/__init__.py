"""The declarative fill: OTLP requests → the columns a schema declares."""
