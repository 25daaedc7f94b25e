"""Datasource names → engines, schemas and URLs, and running SQL on them.

Panels name their datasource; the names are the same everywhere (panel definitions, ``--datasource
NAME=URL``, publishing):

=============  ==========  ===========================================================================
name           engine      URL (first set wins)
=============  ==========  ===========================================================================
``clickhouse`` clickhouse  ``--datasource``, ``SMARTER_OBS_CLICKHOUSE_URL``, embedded chDB under
                           ``.smarter-obs/clickhouse``; database from the URL path,
                           ``SMARTER_OBS_CLICKHOUSE_DATABASE`` or ``otel``
``supabase``   postgres    ``--datasource``, ``SMARTER_OBS_POSTGRES_DSN``, ``SUPABASE_DB_URL`` (what the n8n
                           collector and ``db migrate --postgres`` use), the embedded PostgreSQL
``chatwoot``   postgres    ``--datasource``, ``SMARTER_OBS_CHATWOOT_DB_URL``, ``CHATWOOT_DB_URL``, database
                           ``chatwoot`` on the embedded PostgreSQL
=============  ==========  ===========================================================================

Each datasource also names the ``provisioning/`` folder whose DDL its queries are validated against, and
the Grafana plugin and uid it is published as (uids are settings: ``SMARTER_OBS_GRAFANA_<NAME>_UID``).
All of them are declared in :mod:`smarter_obs.settings`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smarter_obs import settings
from smarter_obs.dashboards.errors import QueryExecutionError, UnknownObjectError, did_you_mean

__all__ = [
    "DATASOURCES",
    "Connection",
    "Datasource",
    "QueryResult",
    "close_connections",
    "execute",
    "get_datasource",
    "grafana_uid",
    "register_datasource",
    "resolve_url",
]

#: Database name of the Chatwoot data set on the embedded PostgreSQL.
EMBEDDED_CHATWOOT_DB = "chatwoot"


@dataclass(frozen=True)
class Datasource:
    """A named datasource: its engine (sqlglot dialect and driver), schema folder and Grafana identity."""

    name: str
    engine: str  # "clickhouse" | "postgres"
    url: settings.Setting[str]
    schema: str  # folder under provisioning/ holding its DDL
    grafana_type: str
    grafana_name: str
    grafana_uid: settings.Setting[str]
    embedded_database: str | None = None  # postgres: a database of its own on the embedded server

    @property
    def url_env(self) -> tuple[str, ...]:
        """The environment variables of its URL, first set wins."""
        return self.url.env_vars


DATASOURCES: dict[str, Datasource] = {}


def register_datasource(datasource: Datasource) -> Datasource:
    """Add (or replace) a datasource name."""
    DATASOURCES[datasource.name] = datasource
    return datasource


register_datasource(
    Datasource(
        name="clickhouse",
        engine="clickhouse",
        url=settings.CLICKHOUSE_URL,
        schema="clickhouse",
        grafana_type="grafana-clickhouse-datasource",
        grafana_name="ClickHouse",
        grafana_uid=settings.GRAFANA_CLICKHOUSE_UID,
    )
)
register_datasource(
    Datasource(
        name="supabase",
        engine="postgres",
        url=settings.POSTGRES_DSN,
        schema="postgres",
        grafana_type="grafana-postgresql-datasource",
        grafana_name="Supabase",
        grafana_uid=settings.GRAFANA_SUPABASE_UID,
    )
)
register_datasource(
    Datasource(
        name="chatwoot",
        engine="postgres",
        url=settings.CHATWOOT_DB_URL,
        schema="chatwoot",
        grafana_type="grafana-postgresql-datasource",
        grafana_name="Chatwoot",
        grafana_uid=settings.GRAFANA_CHATWOOT_UID,
        embedded_database=EMBEDDED_CHATWOOT_DB,
    )
)


def get_datasource(name: str) -> Datasource:
    try:
        return DATASOURCES[name]
    except KeyError:
        raise UnknownObjectError(f"unknown datasource {name!r}" + did_you_mean(name, DATASOURCES)) from None


def grafana_uid(name: str) -> str:
    """The Grafana uid of a datasource: ``SMARTER_OBS_GRAFANA_<NAME>_UID`` or its default."""
    return get_datasource(name).grafana_uid.get() or ""


@dataclass(frozen=True)
class Connection:
    """Where a datasource is: its URL and, for ClickHouse, the database unqualified table names are in
    (Grafana's ``defaultDatabase``; default: the URL's path, ``SMARTER_OBS_CLICKHOUSE_DATABASE``,
    ``otel``)."""

    url: str
    database: str | None = None

    def __str__(self) -> str:
        return self.url


def resolve_url(name: str, overrides: Mapping[str, str | Connection] | None = None) -> str | Connection:
    """The URL of a datasource: ``overrides[name]`` (a URL or a :class:`Connection`) > its environment
    variables > the embedded store."""
    datasource = get_datasource(name)
    if overrides and overrides.get(name):
        return overrides[name]
    value = datasource.url.get()
    if value:
        return value
    if datasource.engine == "clickhouse":
        from smarter_obs.sinks.clickhouse import default_url

        return default_url()
    from smarter_obs.sinks.postgres import embedded_dsn

    dsn = embedded_dsn()
    if datasource.embedded_database:
        dsn = _embedded_database(dsn, datasource.embedded_database)
    return dsn


def _embedded_database(server_dsn: str, database: str) -> str:
    """The DSN of ``database`` on the embedded server, created when missing."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(server_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    params = conninfo_to_dict(server_dsn)
    params["dbname"] = database
    return make_conninfo(**params)


@dataclass(frozen=True)
class QueryResult:
    """What a query returned: column names, rows (lists), the SQL that ran and how long it took."""

    columns: list[str]
    rows: list[list[Any]]
    sql: str = ""
    datasource: str = ""
    elapsed_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """``{"columns": [...], "rows": [[...]]}``, values JSON-ready (times ISO-8601, decimals numbers)."""
        return {"columns": list(self.columns), "rows": [[_json_value(v) for v in row] for row in self.rows]}

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def _json_value(value: Any) -> Any:
    import datetime as dt
    import decimal
    import math
    import uuid

    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


# -- connections ------------------------------------------------------------------------------------------

_connections: dict[tuple[str, str, str | None], Any] = {}
_lock = threading.Lock()


def close_connections() -> None:
    """Close every connection :func:`execute` keeps open."""
    with _lock:
        items = list(_connections.values())
        _connections.clear()
    for conn in items:
        with contextlib.suppress(Exception):  # closing a broken connection: nothing to do
            conn.close()


def _clickhouse_client(url: str, database: str | None) -> Any:
    from smarter_obs.sinks.clickhouse import connect, parse_url, resolve_database

    database = resolve_database(database, parse_url(url))
    key = ("clickhouse", url, database)
    with _lock:
        client = _connections.get(key)
        if client is None:
            client = connect(url)
            client.database = database
            _connections[key] = client
        return client


def _postgres_connection(url: str) -> Any:
    from smarter_obs.sinks.postgres import connect

    key = ("postgres", url, None)
    with _lock:
        conn = _connections.get(key)
        if conn is None or conn.closed:
            conn = connect(url, autocommit=True)
            _connections[key] = conn
        return conn


def execute(
    name: str,
    sql: str,
    *,
    params: Sequence[Any] = (),
    url: str | Connection | None = None,
    timeout: float | None = None,
) -> QueryResult:
    """Run ``sql`` (already expanded) on the datasource ``name``; return columns and rows.

    ``params`` are bound to ``%s`` placeholders (PostgreSQL only: what a dialect's ``statement()`` gives).

    ``url``: a URL or a :class:`Connection` (default: :func:`resolve_url`).

    Read-only: ClickHouse runs it with ``readonly = 2`` (a server) and PostgreSQL in a read-only
    transaction. Raises QueryExecutionError with the database's message, SinkUnavailableError when the
    database cannot be reached.
    """
    datasource = get_datasource(name)
    target = url or resolve_url(name)
    connection = target if isinstance(target, Connection) else Connection(str(target))
    started = time.perf_counter()
    if datasource.engine == "clickhouse":
        if params:
            raise QueryExecutionError("bound parameters are only supported on PostgreSQL datasources")
        columns, rows = _run_clickhouse(connection, sql, timeout)
    else:
        columns, rows = _run_postgres(connection.url, sql, timeout, tuple(params))
    return QueryResult(columns, rows, sql, name, (time.perf_counter() - started) * 1000.0)


def _run_clickhouse(
    connection: Connection, sql: str, timeout: float | None
) -> tuple[list[str], list[list[Any]]]:
    from smarter_obs.errors import SinkError, SinkUnavailableError
    from smarter_obs.sinks.clickhouse import map_errors, parse_url

    url = connection.url
    parsed = parse_url(url)
    client = _clickhouse_client(url, connection.database)
    query_settings: dict[str, Any] = {}
    if not parsed.embedded:
        query_settings["readonly"] = 2
        if timeout:
            query_settings["max_execution_time"] = max(int(timeout), 1)
    try:
        with map_errors("query", url=parsed):
            result = client.query(sql, settings=query_settings or None)
    except SinkUnavailableError:
        with _lock:
            for key in [k for k in _connections if k[:2] == ("clickhouse", url)]:
                _connections.pop(key, None)
        raise
    except SinkError as exc:
        message = str(exc)
        if "UNKNOWN_DATABASE" in message or "UNKNOWN_TABLE" in message:
            message += (
                f"; the queries read database {client.database!r}: set SMARTER_OBS_CLICKHOUSE_DATABASE "
                "(or the /db of an http URL), or create the tables with `smarter-obs db migrate`"
            )
        raise QueryExecutionError(message) from None
    columns = list(result.column_names)
    rows = [list(row) for row in result.result_rows]
    if not columns and not rows:
        columns = _clickhouse_columns(client, sql, parsed)
    return columns, rows


def _clickhouse_columns(client: Any, sql: str, parsed: Any) -> list[str]:
    """Column names of a query that returned nothing (chDB sends no header for an empty result)."""
    from smarter_obs.errors import SinkError
    from smarter_obs.sinks.clickhouse import map_errors

    try:
        with map_errors("describe", url=parsed):
            described = client.query(f"DESCRIBE TABLE (\n{sql}\n)")
    except SinkError:
        return []
    return [str(row[0]) for row in described.result_rows]


def _run_postgres(
    url: str, sql: str, timeout: float | None, params: tuple[Any, ...] = ()
) -> tuple[list[str], list[list[Any]]]:
    from smarter_obs.errors import SinkError, SinkUnavailableError
    from smarter_obs.sinks.postgres import sink_errors

    conn = _postgres_connection(url)
    try:
        with sink_errors("query"), conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            if timeout:
                cur.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            cur.execute(sql.encode(), params or None)
            columns = [d.name for d in cur.description] if cur.description else []
            rows = [list(row) for row in cur.fetchall()] if cur.description else []
    except SinkUnavailableError:
        with _lock:
            _connections.pop(("postgres", url, None), None)
        raise
    except SinkError as exc:
        raise QueryExecutionError(str(exc)) from None
    return columns, rows
