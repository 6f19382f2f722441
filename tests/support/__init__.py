"""Test helpers: OTLP samples, servers, stand-ins and fixtures' building blocks."""
