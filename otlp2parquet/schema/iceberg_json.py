"""A table's Iceberg definition as the JSON of the Iceberg REST protocol and table metadata: the
schema, the partition spec and the table properties, from the schema file alone.

No pyiceberg or pyarrow here: the pyiceberg catalog parses this JSON into its models
(``schema_export.iceberg_schema``), and the pyarrow-free REST committer of the Cloudflare Worker
(``otlp2parquet.plugins.catalog_iceberg.lite.iceberg_rest``) sends it as is.

Field ids: each column declares its own ``id`` (below ``NESTED_ID_BASE``); the ids of a column's
nested fields (list element, map key and value) derive from it as ``NESTED_ID_BASE + 10 * id +
k``, so adding a column never renumbers another one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.typespec import TypeSpec

if TYPE_CHECKING:
    from otlp2parquet.schema.tables import TableSchema

NESTED_ID_BASE = 1000
#: Table properties set at creation.
TABLE_PROPERTIES = {
    "format-version": "2",
    "commit.manifest-merge.enabled": "true",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.parquet.compression-codec": "zstd",
}
PROP_SCHEMA = "otlp2parquet.schema"
PROP_SCHEMA_VERSION = "otlp2parquet.schema-version"
#: Partition field ids: identity of the service column, hour of the time column.
SERVICE_PARTITION_ID = 1000
HOUR_PARTITION_ID = 1001
_SCALARS = {
    "string": "string",
    "bool": "boolean",
    "int32": "int",
    "int64": "long",
    "float64": "double",
    "timestamp[us,tz=UTC]": "timestamptz",
}


def schema_json(schema: TableSchema) -> dict[str, Any]:
    """The Iceberg v2 schema (a ``struct`` with ``schema-id`` 0)."""
    fields = []
    for column in schema.columns:
        if column.field_id >= NESTED_ID_BASE:
            raise ConfigError(f"schema {schema.name}: column id {column.field_id} is too large")
        field: dict[str, Any] = {
            "id": column.field_id,
            "name": column.name,
            "required": not column.nullable,
            "type": _type_json(column.type_spec, column.field_id, [0]),
        }
        if column.options.get("doc"):
            field["doc"] = str(column.options["doc"])
        fields.append(field)
    return {"type": "struct", "schema-id": 0, "identifier-field-ids": [], "fields": fields}


def _type_json(spec: TypeSpec, column_id: int, counter: list[int]) -> Any:
    if spec.kind == "map":
        assert spec.item is not None
        key_id, value_id = _next_id(column_id, counter), _next_id(column_id, counter)
        return {
            "type": "map",
            "key-id": key_id,
            "key": "string",
            "value-id": value_id,
            "value": _type_json(spec.item, column_id, counter),
            "value-required": True,
        }
    if spec.kind == "list":
        assert spec.item is not None
        element_id = _next_id(column_id, counter)
        return {
            "type": "list",
            "element-id": element_id,
            "element": _type_json(spec.item, column_id, counter),
            "element-required": True,
        }
    try:
        return _SCALARS[spec.name]
    except KeyError:
        raise ConfigError(f"type {spec} has no Iceberg counterpart") from None


def _next_id(column_id: int, counter: list[int]) -> int:
    counter[0] += 1
    return NESTED_ID_BASE + 10 * column_id + counter[0]


def partition_spec_json(schema: TableSchema, ids: dict[str, int]) -> dict[str, Any]:
    """Identity on the service column, hour of the time column: the file layout's partitions.
    ``ids`` maps column names to the field ids of the table the spec is for."""
    return {
        "spec-id": 0,
        "fields": [
            {
                "source-id": ids[schema.service_column],
                "field-id": SERVICE_PARTITION_ID,
                "name": schema.service_column,
                "transform": "identity",
            },
            {
                "source-id": ids[schema.time_column],
                "field-id": HOUR_PARTITION_ID,
                "name": hour_partition_name(schema),
                "transform": "hour",
            },
        ],
    }


def hour_partition_name(schema: TableSchema) -> str:
    return f"{schema.time_column}_hour"


def table_properties(schema: TableSchema) -> dict[str, str]:
    """The properties of a new table: defaults plus the schema file's name and version."""
    return {
        **TABLE_PROPERTIES,
        PROP_SCHEMA: schema.name,
        PROP_SCHEMA_VERSION: str(schema.version),
    }


#: The table property that maps Parquet column names to field ids (our files carry no ids).
NAME_MAPPING = "schema.name-mapping.default"


def name_mapping(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The name mapping of an Iceberg schema JSON, so readers find columns of Parquet files
    without field ids by name (as pyiceberg's ``add_files`` sets it)."""
    return [_mapped(f["id"], f["name"], f["type"]) for f in schema["fields"]]


def _mapped(field_id: int, name: str, field_type: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"field-id": field_id, "names": [name]}
    if isinstance(field_type, dict):
        kind = field_type["type"]
        if kind == "struct":
            out["fields"] = name_mapping(field_type)
        elif kind == "list":
            out["fields"] = [_mapped(field_type["element-id"], "element", field_type["element"])]
        elif kind == "map":
            out["fields"] = [
                _mapped(field_type["key-id"], "key", field_type["key"]),
                _mapped(field_type["value-id"], "value", field_type["value"]),
            ]
    return out


#: Iceberg's allowed type promotions (old, new) of primitive columns.
PROMOTIONS = {("int", "long"), ("float", "double")}


def type_shape(iceberg_type: Any) -> Any:
    """A type without its field ids (tables renumber nested ids at creation)."""
    if isinstance(iceberg_type, dict):
        return {k: type_shape(v) for k, v in iceberg_type.items() if not k.endswith("-id")}
    return iceberg_type


def renumbered(column: dict[str, Any], last: int) -> tuple[int, dict[str, Any]]:
    """The column with fresh ids after ``last`` (the table's last-column-id)."""

    def fresh(value: Any) -> Any:
        nonlocal last
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in ("id", "element-id", "key-id", "value-id"):
                    last += 1
                    out[key] = last
                else:
                    out[key] = fresh(item)
            return out
        return value

    result = fresh(column)  # before reading ``last``, which it advances
    return last, result
