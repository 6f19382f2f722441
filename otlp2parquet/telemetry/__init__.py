"""Self-telemetry: metrics, self-export and log setup."""
