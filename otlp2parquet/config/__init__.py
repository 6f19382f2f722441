"""Configuration: layers, where values come from, validation."""
