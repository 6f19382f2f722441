"""How a secret value is shown wherever it would appear (config show, errors, log lines)."""

MASK = "********"
