"""The options schema of the Iceberg catalog (``[iceberg]``), registered with it through
``options=``; ``x-env`` keeps the Rust tool's variable names, ``x-secret`` masks values."""

from __future__ import annotations

from typing import Any

ICEBERG: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "catalog_type": {
            "type": "string",
            "enum": ["sql", "rest", "glue", "s3tables", "r2"],
            "description": "derived from the other keys when unset",
        },
        "uri": {
            "type": "string",
            "description": "SQL catalog URI (sqlite or postgresql); default "
            "catalog.db under storage.fs.path",
        },
        "rest_uri": {"type": "string"},
        "warehouse": {"type": "string"},
        "namespace": {"type": "string", "default": "otlp"},
        "bucket_arn": {"type": "string"},
        "token": {"type": "string", "x-secret": True},
        "credential": {"type": "string", "x-secret": True},
        "region": {"type": "string"},
        "sync_interval_secs": {"type": "number", "exclusiveMinimum": 0, "default": 30},
        "commit_timeout_secs": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 60,
            "description": "a catalog commit still running after "
            "this long is reported as failed; its "
            "files stay pending",
        },
        "properties": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}},
        "tables": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "logs": {"type": "string", "default": "otel_logs", "x-env": ["ICEBERG_TABLE_LOGS"]},
                "traces": {
                    "type": "string",
                    "default": "otel_traces",
                    "x-env": ["ICEBERG_TABLE_TRACES"],
                },
                "metrics_gauge": {
                    "type": "string",
                    "default": "otel_metrics_gauge",
                    "x-env": ["ICEBERG_TABLE_METRICS_GAUGE"],
                },
                "metrics_sum": {
                    "type": "string",
                    "default": "otel_metrics_sum",
                    "x-env": ["ICEBERG_TABLE_METRICS_SUM"],
                },
                "metrics_histogram": {
                    "type": "string",
                    "default": "otel_metrics_histogram",
                    "x-env": ["ICEBERG_TABLE_METRICS_HISTOGRAM"],
                },
                "metrics_exponential_histogram": {
                    "type": "string",
                    "default": "otel_metrics_exponential_histogram",
                    "x-env": ["ICEBERG_TABLE_METRICS_EXPONENTIAL_HISTOGRAM"],
                },
                "metrics_summary": {
                    "type": "string",
                    "default": "otel_metrics_summary",
                    "x-env": ["ICEBERG_TABLE_METRICS_SUMMARY"],
                },
            },
        },
    },
}
