"""The options schema of each fsspec storage backend, registered with it through ``options=``:
``[storage.<name>]`` is declared by the plugin that owns the backend, not by the core schema.
``x-env`` lists extra variable names (the Rust tool's, and the credential names users type);
``x-secret`` marks values masked wherever they are shown."""

from __future__ import annotations

from typing import Any

FS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"path": {"type": "string", "default": "./data", "x-env": ["STORAGE_PATH"]}},
}

MEMORY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"path": {"type": "string", "default": "/otlp2parquet"}},
}

S3: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bucket": {"type": "string", "x-env": ["S3_BUCKET"]},
        "region": {"type": "string", "x-env": ["S3_REGION"]},
        "endpoint": {"type": "string", "x-env": ["S3_ENDPOINT"]},
        "prefix": {"type": "string", "default": "", "x-env": ["S3_PREFIX", "PREFIX"]},
        "access_key_id": {
            "type": "string",
            "x-secret": True,
            "x-env": ["S3_ACCESS_KEY_ID", "S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"],
        },
        "secret_access_key": {
            "type": "string",
            "x-secret": True,
            "x-env": ["S3_SECRET_ACCESS_KEY", "S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"],
        },
        "session_token": {
            "type": "string",
            "x-secret": True,
            "x-env": ["S3_SESSION_TOKEN", "AWS_SESSION_TOKEN"],
        },
        "profile": {"type": "string"},
    },
}

R2: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bucket": {"type": "string", "x-env": ["R2_BUCKET"]},
        "account_id": {"type": "string", "x-env": ["R2_ACCOUNT_ID"]},
        "access_key_id": {
            "type": "string",
            "x-secret": True,
            "x-env": ["R2_ACCESS_KEY_ID", "R2_ACCESS_KEY"],
        },
        "secret_access_key": {
            "type": "string",
            "x-secret": True,
            "x-env": ["R2_SECRET_ACCESS_KEY", "R2_SECRET_KEY"],
        },
        "endpoint": {"type": "string", "x-env": ["R2_ENDPOINT"]},
        "prefix": {"type": "string", "default": "", "x-env": ["R2_PREFIX"]},
    },
}

GCS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bucket": {"type": "string"},
        "prefix": {"type": "string", "default": ""},
        "project": {"type": "string"},
        "token": {
            "type": "string",
            "x-secret": True,
            "x-env": ["GCS_TOKEN", "GCS_CREDENTIALS"],
            "description": "path to a service-account JSON file, or 'anon' (no "
            "credentials, for emulators); unset: Google's default "
            "credentials, or 'anon' when STORAGE_EMULATOR_HOST is "
            "used",
        },
        "endpoint": {
            "type": "string",
            "description": "http(s)://host:port of another GCS JSON API "
            "server, e.g. an emulator; unset: "
            "STORAGE_EMULATOR_HOST when set (as Google's "
            "libraries read it), else Google's endpoint",
        },
    },
}

AZURE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "container": {"type": "string"},
        "prefix": {"type": "string", "default": ""},
        "account_name": {"type": "string", "x-env": ["AZURE_ACCOUNT_NAME"]},
        "account_key": {"type": "string", "x-secret": True, "x-env": ["AZURE_ACCOUNT_KEY"]},
        "connection_string": {
            "type": "string",
            "x-secret": True,
            "x-env": ["AZURE_CONNECTION_STRING"],
            "description": "wins over account_name, account_key, sas_token and endpoint",
        },
        "sas_token": {"type": "string", "x-secret": True, "x-env": ["AZURE_SAS_TOKEN"]},
        "endpoint": {
            "type": "string",
            "description": "the Blob service URL (account URL), e.g. "
            "Azurite's "
            "http://127.0.0.1:10000/devstoreaccount1; default "
            "https://{account_name}.blob.core.windows.net",
        },
    },
}
