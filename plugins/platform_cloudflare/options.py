"""The options schema of the ``r2_binding`` storage backend (``[storage.r2_binding]``)."""

from __future__ import annotations

from typing import Any

R2_BINDING: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "R2 through a Worker's bucket binding (Cloudflare platform)",
    "properties": {
        "binding": {
            "type": "string",
            "default": "OTLP_BUCKET",
            "description": "the binding's name in wrangler.toml",
        },
        "bucket": {
            "type": "string",
            "default": "",
            "description": "the bucket's name, used in file URLs",
        },
        "prefix": {"type": "string", "default": ""},
    },
}
