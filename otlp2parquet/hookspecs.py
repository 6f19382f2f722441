"""The hook contract. Each docstring is the contract an implementation must keep.

Every ``register_*`` hook receives one callable, ``register``, and calls it once per component::

    register(name="s3", factory=make_s3, options=None, aliases=("aws",), **meta)

- ``name``: what config selects the component by; unique per kind across all plugins.
- ``factory``: builds the component; its signature is given per hook below. It receives only its
  own validated options (a dict), never the raw config.
- ``options``: an optional JSON schema for the component's own config section, declared by the
  plugin (the built-ins declare theirs this way too); a section the core schema or another
  plugin declares is refused. Its keys take ``OTLP2PARQUET_*`` variables like core keys (and
  the names its ``x-env`` lists); unknown keys are reported.
- ``aliases``: other names config may use.
- ``**meta``: kind-specific facts, listed per hook (``section`` for any kind); an unknown key,
  a missing required one or a value of the wrong shape is a ``PluginError``. Two decoders
  listing one media type, or two mappers for one signal, are refused with both plugin names:
  disable one.

Registration must be cheap: import heavy packages inside factories, not at module import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from otlp2parquet.plugin.registry import Register
    from otlp2parquet.types import WrittenFile

hookspec = pluggy.HookspecMarker("otlp2parquet")
hookimpl = pluggy.HookimplMarker("otlp2parquet")


@hookspec
def register_decoders(register: Register) -> None:
    """Register body decoders.

    Meta: ``media_types`` (tuple of lower-case media types without parameters, such as
    ``"application/x-protobuf"``). The decoder chosen for a request is the one listing the
    request's media type. ``factory(options) -> Decoder``; ``Decoder.decode(body, signal)``
    returns a list of OTLP ``Export*ServiceRequest`` messages (or objects with the same read
    API) and raises ``DecodeError`` saying what is wrong and where.
    """


@hookspec
def register_schema_mappers(register: Register) -> None:
    """Register schema mappers, one per signal.

    Meta (both required): ``signal`` (``logs``, ``traces`` or ``metrics``) and ``tables`` (the
    schema names it fills, each a file ``schemas/<name>.toml`` or shipped by the plugin).
    ``factory(schemas) -> SchemaMapper`` where ``schemas`` maps table name to ``TableSchema``.
    ``SchemaMapper.map`` turns decoded requests into a ``MappedBatch``: one Arrow table per
    target table plus the count and reasons of rejected records; it never raises for a partly
    unusable request.
    """


@hookspec
def register_partitioners(register: Register) -> None:
    """Register partitioners, selected by ``partitioning.scheme``.

    ``factory(options) -> Partitioner``. ``Partitioner.split(schema, table)`` yields
    ``(Partition, table)`` pairs with one service and one time bucket each;
    ``Partitioner.object_key(partition, first_ts_us, token)`` returns the object key (relative
    to the storage prefix), which must never leave that prefix. The pyarrow-free engine (the
    Cloudflare Worker) also needs ``split_rows(schema, services, times_us)`` returning
    ``(Partition, row numbers)`` pairs for plain lists.
    """


@hookspec
def register_storage_backends(register: Register) -> None:
    """Register storage backends, selected by ``storage.backend``.

    Options live in ``storage.<name>``. ``factory(options) -> StorageBackend``. ``put`` must be
    atomic: a reader never sees a partial object. Failures raise ``StorageError``; a missing
    optional package raises ``MissingExtra`` naming the extra. A backend that makes puts
    atomic with temp files may offer ``remove_stale_temps(prefixes) -> list[str]``: the
    server calls it in the background at start with the table directories, to remove the
    temp files of writes killed mid-way.

    Meta: ``url_schemes`` (the ``--output`` URL schemes selecting it, such as ``("s3", "s3a")``;
    ``file`` also takes plain paths) with ``from_url`` (``rest -> options``: the URL after
    ``scheme://`` as its options; ``otlp2parquet.plugin.urls`` has ``bucket_and_prefix`` and
    ``path``), and ``query`` (a ``otlp2parquet.query.access.LakeAccess``: how ``query duckdb``
    and ``query clickhouse`` reach its files in place; without it DuckDB reads through the
    backend's fsspec filesystem and ClickHouse refuses it).
    """


@hookspec
def register_catalogs(register: Register) -> None:
    """Register catalogs, selected by ``catalog_mode``.

    Options live in the section named by the ``section`` meta (default: the name).
    ``factory(options, storage, schemas) -> Catalog``. ``Catalog.commit(files)`` registers
    files that are already durably written; failures raise ``CatalogError`` and must leave a
    way to retry (the files are never lost). Meta ``lite_factory``: the same catalog without
    pyarrow or pyiceberg, for the Cloudflare Worker: ``lite_factory(options, storage, schemas,
    send, data_url)`` where ``send`` does the HTTP requests and ``data_url`` turns a file's URL
    into the one the catalog records.
    """


@hookspec
def register_platforms(register: Register) -> None:
    """Register platform adapters, selected by ``platform`` or detected from the environment.

    Meta: ``detect_env`` (a tuple of variables, or one name, any of which being set selects
    the platform; two platforms selected at once are an error), ``fallback`` (``True``: chosen
    when no ``detect_env`` variable is set; the built-in ``server``, at most one platform),
    ``cold_start`` (``True``: third-party autoload is off there unless config turns it on),
    ``defaults`` (a nested dict of platform defaults, ranked above declared defaults and below
    the config file), ``section`` (its options' section). ``factory(options) -> Platform``;
    ``Platform.run(runtime)`` serves until stopped and returns an exit status.
    """


@hookspec(historic=True)
def configure(config: Any) -> None:
    """One-time setup after the configuration is loaded and validated. Historic: plugins
    registered later are called too. Must not raise for valid config."""


@hookspec
def on_batch_written(result: WrittenFile) -> None:
    """Observe every Parquet file written (key, url, table, rows, bytes, partition, time range,
    catalog outcome). Called after the file is durably stored. Exceptions are logged and
    counted; they never lose or rewrite data."""
