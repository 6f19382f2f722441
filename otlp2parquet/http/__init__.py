"""OTLP/HTTP over any transport: routes, bodies, responses, auth."""
