"""A pure-Python Parquet writer: columns given as Python lists → one Parquet file in memory.

Written from the Parquet format specification (parquet-format's ``parquet.thrift`` and
``Encodings.md``): PLAIN values, RLE/bit-packed-hybrid definition and repetition levels, one v1
data page per column chunk, GZIP (stdlib ``zlib``) or no compression, row groups of at most
``row_group_size`` rows, and the logical and converted types that make readers (pyarrow, DuckDB)
see the same types as in the files pyarrow writes: strings, signed and unsigned integers of
8-64 bits, float32/float64, bool, timestamps (ms, us, ns; UTC-adjusted with ``tz=UTC``), and
``list<T>`` / ``map<string, T>`` nested to any depth (list elements and map values required).
Column chunk statistics (null count, min and max in the type's order) for top-level columns
except unsigned integers, so readers skip row groups by time or service. No dictionary encoding
or page index: files are larger than pyarrow's, still complete and standard.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from otlp2parquet import __version__
from otlp2parquet.engine.filemeta import footer_metadata
from otlp2parquet.engine.lite import thrift as t
from otlp2parquet.engine.lite.encoding import Leaf, levels_block, plain
from otlp2parquet.engine.lite.parquet_types import INTEGERS, WRITER_SCALARS, scalar_type
from otlp2parquet.engine.lite.statistics import statistics
from otlp2parquet.errors import ConfigError
from otlp2parquet.schema.tables import TableSchema
from otlp2parquet.schema.typespec import TypeSpec, parse_type

MAGIC = b"PAR1"
CODECS = {"none": 0, "gzip": 2}  # parquet CompressionCodec: UNCOMPRESSED, GZIP
REQUIRED, OPTIONAL, REPEATED = 0, 1, 2
CREATED_BY = f"otlp2parquet version {__version__} (lite writer)"


@dataclass(frozen=True)
class FieldSpec:
    """One top-level column: its name, type text (schema-file syntax) and nullability."""

    name: str
    type: str
    nullable: bool = False


class _Column:
    """One top-level column: its schema elements and a shredder filling its leaves."""

    def __init__(self, spec: FieldSpec) -> None:
        try:
            self.type = parse_type(spec.type, WRITER_SCALARS)
        except ValueError as exc:
            raise ConfigError(
                f"column {spec.name!r}: the lite Parquet writer cannot write it: {exc}"
            ) from None
        self.name = spec.name
        self.nullable = spec.nullable
        self.elements: list[list[tuple[int, int, Any]]] = []
        self.leaves: list[tuple[list[str], int, Callable[[Any], Any] | None, Leaf]] = []
        self.ordered: list[bool] = []  # per leaf: min/max statistics are written
        self.emit, self.empty = self._build(self.type, spec.name, spec.nullable, [], 0, 0)

    def _element(self, name: str, repetition: int, **extra: Any) -> None:
        fields = [
            (1, t.I32, extra.get("physical")),
            (3, t.I32, repetition),
            (4, t.BINARY, name),
            (5, t.I32, extra.get("children")),
            (6, t.I32, extra.get("converted")),
            (10, t.STRUCT, extra.get("logical")),
        ]
        self.elements.append(fields)

    def _build(
        self, spec: TypeSpec, name: str, optional: bool, path: list[str], rep: int, dfn: int
    ) -> tuple[Callable[[Any, int], None], Callable[[int, int], None]]:
        """Schema elements for ``spec`` and its emitters: ``emit(value, r)`` with the parent
        present, ``empty(r, d)`` when an ancestor is null or an empty list/map at level d."""
        present = dfn + optional
        repetition = OPTIONAL if optional else REQUIRED
        path = [*path, name]
        if spec.kind == "scalar":
            physical, converted, logical, convert = scalar_type(spec.name)
            self._element(name, repetition, physical=physical, converted=converted, logical=logical)
            leaf = Leaf(rep, present)
            self.leaves.append((path, physical, convert, leaf))
            # unsigned integers sort unsigned: their two's-complement values give no min/max
            signed = INTEGERS.get(spec.name, (0, True, 0))[1]
            self.ordered.append(rep == 0 and signed)
            reps, defs, values = leaf.reps, leaf.defs, leaf.values

            def emit_scalar(value: Any, r: int) -> None:
                reps.append(r)
                if value is None:
                    if not optional:
                        raise ValueError(f"column {self.name!r}: null in a non-null field")
                    defs.append(dfn)
                else:
                    defs.append(present)
                    values.append(value)

            def empty_scalar(r: int, d: int) -> None:
                reps.append(r)
                defs.append(d)

            return emit_scalar, empty_scalar
        assert spec.item is not None
        is_map = spec.kind == "map"
        logical = [(2 if is_map else 3, t.STRUCT, [])]  # logical MAP / LIST
        converted = 1 if is_map else 3  # converted MAP / LIST
        self._element(name, repetition, children=1, converted=converted, logical=logical)
        inner = "key_value" if is_map else "list"
        self._element(inner, REPEATED, children=2 if is_map else 1)
        below = [*path, inner]
        level = (below, rep + 1, present + 1)
        if is_map:
            key_emit, key_empty = self._build(TypeSpec("scalar", "string"), "key", False, *level)
        item_name = "value" if is_map else "element"
        item_emit, item_empty = self._build(spec.item, item_name, False, *level)
        inner_rep = rep + 1

        def empty(r: int, d: int) -> None:
            if is_map:
                key_empty(r, d)
            item_empty(r, d)

        def emit(value: Any, r: int) -> None:
            if value is None:
                if not optional:
                    raise ValueError(f"column {self.name!r}: null in a non-null field")
                empty(r, dfn)
            elif not value:
                empty(r, present)
            elif is_map:
                items = value.items() if isinstance(value, Mapping) else value
                for key, item in items:
                    key_emit(key, r)
                    item_emit(item, r)
                    r = inner_rep
            else:
                for item in value:
                    item_emit(item, r)
                    r = inner_rep

        return emit, empty

    def chunks(self, values: Sequence[Any]) -> list[tuple[list[str], int, Leaf, list[Any], bool]]:
        """Shred ``values`` (one row group's) into the leaves; returns (path, physical type,
        leaf, converted values, whether to write min/max) per leaf. The leaves' lists are
        reused by the next call."""
        for _, _, _, leaf in self.leaves:
            leaf.clear()
        if self.type.kind == "scalar" and not self.nullable:
            if None in values:  # (identity is checked first: C speed)
                raise ValueError(f"column {self.name!r}: null in a non-null field")
            self.leaves[0][3].values.extend(values)
        elif self._flat_nested():
            self._shred_flat(values)
        else:
            emit = self.emit
            for value in values:
                emit(value, 0)
        out = []
        for (path, physical, convert, leaf), ordered in zip(self.leaves, self.ordered, strict=True):
            converted = leaf.values if convert is None else [convert(v) for v in leaf.values]
            out.append((path, physical, leaf, converted, ordered))
        return out

    def _flat_nested(self) -> bool:
        """A non-null ``list<scalar>`` or ``map<string, scalar>``: shredded without emitters."""
        item = self.type.item
        return not self.nullable and item is not None and item.kind == "scalar"

    def _shred_flat(self, values: Sequence[Any]) -> None:
        """``chunks`` for ``_flat_nested`` columns: one level run per row, same levels for the
        key and value leaves of a map."""
        leaves = [leaf for _, _, _, leaf in self.leaves]
        reps, defs = leaves[0].reps, leaves[0].defs
        for value in values:
            if value is None:
                raise ValueError(f"column {self.name!r}: null in a non-null field")
            count = len(value)
            reps.append(0)
            if count:
                reps.extend([1] * (count - 1))
                defs.extend([1] * count)
            else:
                defs.append(0)
        if len(leaves) == 1:
            leaves[0].values.extend([item for value in values for item in value])
        else:
            entries = [
                entry
                for value in values
                for entry in (value.items() if isinstance(value, Mapping) else value)
            ]
            leaves[0].values.extend([key for key, _ in entries])
            leaves[1].values.extend([item for _, item in entries])
            leaves[1].reps.extend(reps)
            leaves[1].defs.extend(defs)
        if any(None in leaf.values for leaf in leaves):
            raise ValueError(f"column {self.name!r}: null in a non-null field")


def _check(compression: str, row_group_size: int) -> None:
    if compression not in CODECS:
        raise ConfigError(
            f"the lite Parquet writer supports compression {' or '.join(CODECS)}, "
            f"not {compression!r}"
        )
    if row_group_size < 1:
        raise ConfigError("storage.parquet_row_group_size must be at least 1")


def write_parquet(
    fields: Sequence[FieldSpec],
    columns: Sequence[Sequence[Any]],
    metadata: Mapping[str, str] | None = None,
    compression: str = "gzip",
    row_group_size: int = 32768,
    compression_level: int | None = None,
) -> bytes:
    """One Parquet file of ``columns`` (Python lists, one per field, in field order)."""
    _check(compression, row_group_size)
    if len(columns) != len(fields):
        raise ValueError(f"{len(columns)} columns for {len(fields)} fields")
    rows = len(columns[0]) if columns else 0
    if any(len(c) != rows for c in columns):
        raise ValueError("columns differ in length")
    plans = [_Column(f) for f in fields]
    out = bytearray(MAGIC)
    row_groups: list[Any] = []
    level = 6 if compression_level is None else compression_level
    for start in range(0, rows, row_group_size) if rows else [0]:
        stop = min(start + row_group_size, rows)
        chunks: list[Any] = []
        unpacked = 0  # uncompressed bytes of the row group
        group_start = len(out)
        for plan, values in zip(plans, columns, strict=True):
            for path, physical, leaf, converted, ordered in plan.chunks(values[start:stop]):
                stats = statistics(physical, leaf, converted) if ordered else None
                chunk, raw = _column_chunk(
                    out, path, physical, leaf, converted, compression, level, stats
                )
                chunks.append(chunk)
                unpacked += raw
                del converted
                leaf.clear()  # encoded: keep only one column's levels and values at a time
        size = len(out) - group_start
        row_groups.append(
            [
                (1, t.LIST, (t.STRUCT, chunks)),
                (2, t.I64, unpacked),
                (3, t.I64, stop - start),
                (5, t.I64, group_start),
                (6, t.I64, size),
                (7, t.I16, len(row_groups)),
            ]
        )
    schema: list[Any] = [[(3, t.I32, REQUIRED), (4, t.BINARY, "schema"), (5, t.I32, len(plans))]]
    for plan in plans:
        schema.extend(plan.elements)
    pairs = [[(1, t.BINARY, k), (2, t.BINARY, v)] for k, v in (metadata or {}).items()]
    leaves = sum(len(plan.leaves) for plan in plans)
    orders: list[Any] = [
        [(1, t.STRUCT, [])] for _ in range(leaves)
    ]  # TYPE_ORDER: statistics by type
    footer = t.encode_struct(
        [
            (1, t.I32, 2),
            (2, t.LIST, (t.STRUCT, schema)),
            (3, t.I64, rows),
            (4, t.LIST, (t.STRUCT, row_groups)),
            (5, t.LIST, (t.STRUCT, pairs)),
            (6, t.BINARY, CREATED_BY),
            (7, t.LIST, (t.STRUCT, orders)),
        ]
    )
    out += footer
    out += len(footer).to_bytes(4, "little")
    out += MAGIC
    return bytes(out)


def _column_chunk(
    out: bytearray,
    path: list[str],
    physical: int,
    leaf: Leaf,
    values: list[Any],
    compression: str,
    level: int,
    stats: list[Any] | None = None,
) -> tuple[list[Any], int]:
    """Append one column chunk (a single v1 data page) to ``out``; returns the ColumnChunk
    fields and the chunk's uncompressed size."""
    body = bytearray()
    if leaf.max_rep:
        body += levels_block(leaf.reps, leaf.max_rep)
    if leaf.max_def:
        body += levels_block(leaf.defs, leaf.max_def)
    plain(physical, values, body)
    count = len(leaf.defs) if leaf.max_def or leaf.max_rep else len(values)
    data: bytes | bytearray = body
    if compression == "gzip":
        packer = zlib.compressobj(level, zlib.DEFLATED, 31)  # gzip framing, as GZIP means
        data = packer.compress(body) + packer.flush()
    header = t.encode_struct(
        [
            (1, t.I32, 0),  # DATA_PAGE
            (2, t.I32, len(body)),
            (3, t.I32, len(data)),
            (5, t.STRUCT, [(1, t.I32, count), (2, t.I32, 0), (3, t.I32, 3), (4, t.I32, 3)]),
        ]
    )
    offset = len(out)
    out += header
    out += data
    meta = [
        (1, t.I32, physical),
        (2, t.LIST, (t.I32, [0, 3])),  # PLAIN values, RLE levels
        (3, t.LIST, (t.BINARY, path)),
        (4, t.I32, CODECS[compression]),
        (5, t.I64, count),
        (6, t.I64, len(header) + len(body)),
        (7, t.I64, len(header) + len(data)),
        (9, t.I64, offset),
        (12, t.STRUCT, stats),
    ]
    return [(2, t.I64, offset), (3, t.STRUCT, meta)], len(header) + len(body)


class LiteParquetWriter:
    """``writer.ParquetWriter``'s counterpart for ``LiteTable``s: the same footer metadata, GZIP
    (or no) compression, row groups of ``row_group_size`` rows."""

    def __init__(
        self,
        compression: str = "gzip",
        compression_level: int | None = None,
        row_group_size: int = 32768,
    ) -> None:
        _check(compression, row_group_size)
        self.compression = compression
        self.compression_level = compression_level if compression == "gzip" else None
        self.row_group_size = row_group_size

    def to_bytes(self, table: Any, schema: TableSchema) -> bytes:
        """The whole file for ``table`` (a ``LiteTable`` of ``schema``'s columns)."""
        fields = [FieldSpec(c.name, c.arrow, c.nullable) for c in schema.columns]
        return write_parquet(
            fields,
            table.columns,
            footer_metadata(schema),
            self.compression,
            self.row_group_size,
            self.compression_level,
        )
