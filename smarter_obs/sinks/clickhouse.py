"""ClickHouse access for every collector and exporter: URL handling, one client factory, one columnar sink.

URL forms (explicit argument > ``SMARTER_OBS_CLICKHOUSE_URL`` > embedded default):

- ``chdb:///abs/path/to/dir``: embedded ClickHouse (chDB) in this process, data in that directory. The
  path is always absolute (``chdb:relative`` and ``chdb://relative/dir`` are rejected, naming the absolute
  form). The default is ``chdb://<SMARTER_OBS_HOME>/clickhouse`` (``./.smarter-obs/clickhouse``).
- ``http(s)://user:pass@host:8123/db``: a ClickHouse server; ``/db`` is the default database.

Driver exceptions are translated in exactly one place, :func:`map_errors`: unreachable server, timeouts and
overload become :class:`~smarter_obs.errors.SinkUnavailableError` (retry later); everything else becomes
:class:`~smarter_obs.errors.SinkError`. Passwords never appear in messages or logs.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit

from smarter_obs import settings
from smarter_obs.errors import ConfigError, SinkError, SinkUnavailableError
from smarter_obs.redact import MASK, redact_text, redact_url

if TYPE_CHECKING:  # heavy imports kept lazy
    import pyarrow as pa
    from clickhouse_connect.driver.client import Client

__all__ = [
    "DEFAULT_TIMEOUT",
    "INSERT_SETTINGS",
    "ClickHouseSink",
    "ClickHouseURL",
    "connect",
    "default_url",
    "map_errors",
    "parse_url",
    "quote_identifier",
    "resolve_database",
    "validate_identifier",
]

log = logging.getLogger(__name__)

#: Seconds for connecting and for one request to a ClickHouse server.
DEFAULT_TIMEOUT = 10.0

_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_SCHEMES = ("chdb", "http", "https")

# ClickHouse error codes that mean "try again later" rather than "your request is wrong".
_RETRYABLE_CODES = {
    159,  # TIMEOUT_EXCEEDED
    164,  # READONLY (replica in read-only mode while ZooKeeper is away)
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    236,  # ABORTED
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    252,  # TOO_MANY_PARTS
    285,  # TOO_FEW_LIVE_REPLICAS
    319,  # UNKNOWN_STATUS_OF_INSERT
    425,  # SYSTEM_ERROR
    999,  # KEEPER_EXCEPTION
}
_UNAVAILABLE_TEXT = re.compile(
    r"connection refused|failed to establish|timed out|timeout|max retries exceeded|"
    r"name or service not known|"
    r"temporary failure in name resolution|connection reset|connection aborted|remote end closed|"
    r"broken pipe|service unavailable|bad gateway|gateway time-?out|\b50[234]\b",
    re.IGNORECASE,
)


def validate_identifier(name: str, what: str, *, setting: str | None = None) -> str:
    """``name`` if it is a plain ClickHouse identifier (letters, digits, ``_``), else ConfigError."""
    if not isinstance(name, str) or not _IDENTIFIER_RE.match(name):
        raise ConfigError(
            f"invalid ClickHouse {what} {name!r}: use letters, digits and '_' only, "
            "not starting with a digit",
            setting=setting,
        )
    return name


def quote_identifier(name: str) -> str:
    """Backquoted identifier; callers validate first, this only guards against stray backquotes."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


@dataclass(frozen=True)
class ClickHouseURL:
    """A parsed, validated ClickHouse URL. ``repr``/``str`` never show the password."""

    scheme: str
    path: str | None = None  # chdb data directory
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    database: str | None = None

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    def redacted(self) -> str:
        if self.embedded:
            return f"chdb://{self.path}"
        auth = f"{self.username}:{MASK}@" if self.password else (f"{self.username}@" if self.username else "")
        db = f"/{self.database}" if self.database else ""
        return f"{self.scheme}://{auth}{self.host}:{self.port}{db}"

    def __repr__(self) -> str:
        return f"ClickHouseURL({self.redacted()!r})"

    __str__ = redacted


def default_url() -> str:
    """The embedded store under ``SMARTER_OBS_HOME`` (``./.smarter-obs/clickhouse``)."""
    return f"chdb://{settings.home() / 'clickhouse'}"


def parse_url(url: str | None = None) -> ClickHouseURL:
    """Resolve (argument > env > embedded default) and validate a ClickHouse URL.

    Raises ConfigError naming the bad part (scheme, path, host, port, database).
    """
    raw = settings.CLICKHOUSE_URL.get(url) or default_url()
    setting = settings.CLICKHOUSE_URL.env
    shown = redact_url(raw)
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise ConfigError(f"ClickHouse URL {shown!r} cannot be parsed: {exc}", setting=setting) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"ClickHouse URL {shown!r}: scheme {parts.scheme or '(none)'!r} is not supported; "
            "use chdb:///abs/path (embedded) or http(s)://user:pass@host:8123/db",
            setting=setting,
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"ClickHouse URL {shown!r}: query strings and fragments are not supported; give the "
            "credentials and database as http(s)://user:password@host:8123/db",
            setting=setting,
        )
    if scheme == "chdb":
        # One rule: chdb:// then an absolute path. A relative one would depend on the working directory
        # of whoever starts the process (and chdb://dir/x reads like a host).
        path = unquote(parts.netloc + parts.path)
        if not path or path == "/":
            raise ConfigError(
                f"ClickHouse URL {shown!r}: chdb needs a data directory, e.g. chdb:///srv/ch", setting=setting
            )
        if not parts.path.startswith("/") or parts.netloc:
            raise ConfigError(
                f"ClickHouse URL {shown!r}: the chdb data directory must be absolute, as in chdb:///srv/ch "
                f"(three slashes); for {path!r} here write chdb://{Path(path).expanduser().absolute()}",
                setting=setting,
            )
        if Path(path).exists() and not Path(path).is_dir():
            raise ConfigError(
                f"ClickHouse URL {shown!r}: chdb path {path} exists and is not a directory", setting=setting
            )
        return ClickHouseURL(scheme="chdb", path=path)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(
            f"ClickHouse URL {shown!r}: the port is not a number between 1 and 65535", setting=setting
        ) from None
    host = parts.hostname
    if not host:
        raise ConfigError(
            f"ClickHouse URL {shown!r}: the host is missing, e.g. http://host:8123", setting=setting
        )
    if port == 0:
        raise ConfigError(f"ClickHouse URL {shown!r}: port 0 is not valid", setting=setting)
    path = unquote(parts.path).strip("/")
    database = None
    if path:
        if "/" in path:
            raise ConfigError(
                f"ClickHouse URL {shown!r}: the path must be a single database name", setting=setting
            )
        database = validate_identifier(path, "database in the URL path", setting=setting)
    return ClickHouseURL(
        scheme=scheme,
        host=host,
        port=port or (8443 if scheme == "https" else 8123),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        database=database,
    )


def resolve_database(database: str | None = None, url: ClickHouseURL | None = None) -> str:
    """argument > database in the URL > ``SMARTER_OBS_CLICKHOUSE_DATABASE`` > ``otel``; validated."""
    name = database or (url.database if url is not None else None) or settings.CLICKHOUSE_DATABASE.get()
    return validate_identifier(name, "database", setting=settings.CLICKHOUSE_DATABASE.env)


def _is_retryable(exc: BaseException) -> bool:
    code = getattr(exc, "code", None)
    if code in _RETRYABLE_CODES:
        return True
    from clickhouse_connect.driver import exceptions as ch

    if isinstance(exc, (ch.OperationalError, ch.InterfaceError)) and _UNAVAILABLE_TEXT.search(str(exc)):
        return True
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return (
        code is None and bool(_UNAVAILABLE_TEXT.search(str(exc))) and not isinstance(exc, ch.ProgrammingError)
    )


@contextmanager
def map_errors(
    action: str, *, url: ClickHouseURL | None = None, table: str | None = None, rows: int | None = None
) -> Iterator[None]:
    """Translate driver exceptions raised inside into SinkUnavailableError (retryable) or SinkError.

    The only place in smarter-obs that looks at clickhouse-connect/chDB exception types.
    """
    try:
        yield
    except (SinkError, ConfigError):
        raise
    except Exception as exc:  # noqa: BLE001 - every driver error is translated here, re-raised below
        secret = url.password if url is not None else None
        where = f" on {url.redacted()}" if url is not None else ""
        target = f" {table}" if table else ""
        message = redact_text(
            f"ClickHouse {action}{target}{where} failed: {type(exc).__name__}: {exc}", secrets=[secret]
        )
        cls = SinkUnavailableError if _is_retryable(exc) else SinkError
        raise cls(message, table=table, rows=rows) from None


#: Settings of every insert. Each insert builds a new pipeline for the materialized views behind the table,
#: and ClickHouse JIT-compiles their GROUP BY aggregates anew each time (~20 ms per insert into otel_traces,
#: a fifth of the insert); interpreted aggregation of one block is faster than compiling it.
INSERT_SETTINGS = {"compile_aggregate_expressions": 0}

_chdb_lock = threading.Lock()


def connect(url: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Client:
    """A clickhouse-connect client for ``url`` (argument > env > embedded default), not bound to a database.

    Raises ConfigError for a bad URL, SinkUnavailableError when the server cannot be reached.
    """
    parsed = parse_url(url)
    import clickhouse_connect

    if parsed.embedded:
        from smarter_obs.sinks._chdb_dir import check_directory

        with _chdb_lock, map_errors("connect", url=parsed):
            check_directory(parsed.path)  # type: ignore[arg-type]
            try:
                return clickhouse_connect.get_client(interface="chdb", path=parsed.path)
            except Exception as exc:
                if "Unable to open the chdb engine" in str(exc):
                    raise _chdb_open_error(parsed.path, exc) from None  # type: ignore[arg-type]
                raise
    with map_errors("connect", url=parsed):
        return clickhouse_connect.get_client(
            host=parsed.host,
            port=parsed.port,
            username=parsed.username or "default",
            password=parsed.password or "",
            secure=parsed.scheme == "https",
            interface=parsed.scheme,
            connect_timeout=timeout,
            send_receive_timeout=timeout,
            compress=True,
        )


_OTHER_PATH = re.compile(r"already initialized with path '([^']*)'")


def _chdb_open_error(path: str, exc: Exception) -> ConfigError:
    """chDB refused ``path`` after the directory checks passed: say why as far as it can be told."""
    from smarter_obs.sinks._chdb_dir import check_directory

    other = _OTHER_PATH.search(str(exc))
    if other:
        message = (
            f"cannot open embedded ClickHouse at {path}: this process already has {other.group(1)} open and "
            "chDB allows one data directory per process; use that one, or reach this store through the "
            "process that owns it"
        )
    else:
        check_directory(path)  # taken meanwhile by another process: that is the message
        message = f"cannot open embedded ClickHouse at {path}: {' '.join(str(exc).split())}"
    return ConfigError(message, setting=settings.CLICKHOUSE_URL.env)


class ClickHouseSink:
    """Columnar writes into ClickHouse tables of one database.

    Connects on first use (a service must start even when ClickHouse is down) and reconnects after an
    unavailable error. Thread-safe: writes are serialised on one client. Use as a context manager or call
    :meth:`close`; using it after close raises RuntimeError.
    """

    def __init__(
        self, url: str | None = None, *, database: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.url = parse_url(url)
        self.database = resolve_database(database, self.url)
        self.timeout = timeout
        self._raw_url = url
        self._client: Client | None = None
        self._contexts: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._lock = threading.RLock()
        self._closed = False

    def __repr__(self) -> str:
        return f"ClickHouseSink({self.url.redacted()!r}, database={self.database!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> Client:
        """The connected client (connecting now if needed)."""
        with self._lock:
            self._check_open()
            if self._client is None:
                self._client = connect(self._raw_url, timeout=self.timeout)
            return self._client

    def open(self) -> Self:
        """Connect now instead of on first use (raises what the first use would)."""
        self.client  # noqa: B018 - the property connects
        return self

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("ClickHouseSink is closed; create a new one")

    def _qualify(self, table: str) -> tuple[str, str]:
        database, _, name = table.rpartition(".")
        database = database or self.database
        validate_identifier(database, "database")
        validate_identifier(name, "table")
        return database, name

    def write(
        self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]], *, columnar: bool = True
    ) -> int:
        """Insert ``data`` into ``table`` (``name`` in this sink's database, or ``db.name``); return rows
        written.

        ``data`` is a list of columns in the order of ``columns`` (``columnar=True``, the fast path) or a list
        of rows (``columnar=False``). Nested columns are written as ``Events.Name`` etc. Raises
        SinkUnavailableError (retryable) or SinkError.
        """
        columns = tuple(columns)
        if columnar:
            if len(data) != len(columns):
                raise ValueError(
                    f"write({table!r}): {len(columns)} column names but {len(data)} data columns; "
                    "pass columnar=False when data is a list of rows"
                )
            rows = len(data[0]) if columns else 0
            for name, column in zip(columns, data, strict=True):
                if len(column) != rows:
                    raise ValueError(
                        f"write({table!r}): column {name!r} has {len(column)} values, expected {rows}"
                    )
        else:
            rows = len(data)
        if rows == 0:
            return 0

        def insert(client: Client, database: str, name: str) -> None:
            key = (f"{database}.{name}", columns)
            context = self._contexts.get(key)
            if context is None:
                context = client.create_insert_context(
                    name, list(columns), database=database, settings=INSERT_SETTINGS
                )
                self._contexts[key] = context
            context.column_oriented = columnar
            context.data = data
            try:
                client.insert(context=context)
            finally:
                context.data = None

        return self._insert(table, rows, insert)

    def write_arrow(self, table: str, data: pa.Table) -> int:
        """Insert a ``pyarrow.Table`` (column names = table columns) into ``table``; return rows written.

        The fast path for wide rows: ClickHouse reads the Arrow block directly. Raises SinkUnavailableError
        (retryable) or SinkError.
        """
        rows = data.num_rows
        if rows == 0:
            return 0

        def insert(client: Client, database: str, name: str) -> None:
            if self.url.embedded:
                # chDB reads the payload from a temporary file: hand it the IPC buffer itself (one write,
                # no copy into a bytes object, no compression).
                import pyarrow

                sink = pyarrow.BufferOutputStream()
                with pyarrow.ipc.new_stream(sink, data.schema) as writer:
                    writer.write_table(data)
                client.raw_insert(
                    f"{quote_identifier(database)}.{quote_identifier(name)}",
                    data.column_names,
                    memoryview(sink.getvalue()),
                    settings=INSERT_SETTINGS,
                    fmt="ArrowStream",
                )
            else:
                client.insert_arrow(name, data, database=database, settings=INSERT_SETTINGS)

        return self._insert(table, rows, insert)

    def _insert(self, table: str, rows: int, insert: Callable[[Client, str, str], None]) -> int:
        database, name = self._qualify(table)
        qualified = f"{database}.{name}"
        with self._lock:
            try:
                try:
                    client = self.client
                except SinkError as exc:  # connecting failed: say which write it was
                    exc.table, exc.rows = qualified, rows
                    raise
                with map_errors("insert into", url=self.url, table=qualified, rows=rows):
                    insert(client, database, name)
            except SinkUnavailableError:
                self._reset()
                raise
            except SinkError:
                # the table may have changed; describe it again next time
                for key in [key for key in self._contexts if key[0] == qualified]:
                    del self._contexts[key]
                raise
        return rows

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        """Run one statement (DDL or a scalar query) with server-side parameters."""
        with self._lock, map_errors("command", url=self.url):
            return self.client.command(sql, parameters=parameters)

    def query_rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple]:
        """Rows of a query with server-side parameters (small results only)."""
        with self._lock, map_errors("query", url=self.url):
            return list(self.client.query(sql, parameters=parameters).result_rows)

    def ping(self) -> bool:
        """True when ClickHouse answers; never raises for an unreachable store."""
        try:
            with self._lock, map_errors("ping", url=self.url):
                return bool(self.client.ping())
        except SinkError:
            self._reset()
            return False

    def _reset(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._contexts.clear()
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a broken connection must not hide the original error
                log.debug("closing ClickHouse client failed", exc_info=True)

    def close(self) -> None:
        """Release the connection. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._reset()
            self._closed = True
