"""PostgreSQL / Supabase sink: connections, the embedded server, and change-only upserts.

Every connection is opened with ``prepare_threshold=None`` so it works through Supabase's transaction pooler
(Supavisor port 6543), which cannot keep server-side prepared statements between transactions. Staging
tables are created ``ON COMMIT DROP`` inside the writing transaction for the same reason: nothing outlives
a transaction, so any pooler mode is safe.

Driver errors become :class:`~smarter_obs.errors.SinkUnavailableError` (retry later) or
:class:`~smarter_obs.errors.SinkError` (fix the query/schema) in one place: :func:`sink_errors`.
Passwords never appear in messages: :func:`redact_dsn` masks the DSN's password field (in the form the DSN
was given), :func:`smarter_obs.redact.redact_text` the driver's text.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import shutil
import stat
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smarter_obs import settings
from smarter_obs.errors import ConfigError, SinkError, SinkUnavailableError
from smarter_obs.redact import redact_dsn, redact_text

if TYPE_CHECKING:  # psycopg is imported lazily: `import smarter_obs` must stay cheap
    import psycopg

__all__ = [
    "connect",
    "embedded_dsn",
    "redact_dsn",
    "resolve_dsn",
    "sink_errors",
    "start_embedded",
    "stop_embedded",
    "upsert",
]

log = logging.getLogger(__name__)

#: SQLSTATE classes/codes that mean "the server is unreachable, restarting or overloaded: try again".
_RETRYABLE_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01", "58")

_servers: dict[Path, Any] = {}  # pgdata → pgserver handle, kept alive for the process
_servers_lock = threading.Lock()
_stage_counter = itertools.count()


def _scrub(text: str, dsn: str | None) -> str:
    """A driver message on one line, without the DSN's password even where libpq quotes the DSN."""
    return redact_text(" ".join(text.split()), sources=[dsn])


def start_embedded(path: str | Path) -> str:
    """Start (or reuse) a real PostgreSQL 16 with pgserver, data under ``path/pgdata``; return its DSN.

    The server stops when the last process using it exits. Safe to call repeatedly.
    """
    root = Path(path).expanduser().absolute()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the embedded PostgreSQL directory {root}: {exc.strerror}; pass --postgres DSN "
            f"(or set {settings.POSTGRES_DSN.env}), or set {settings.HOME.env} to a directory "
            "you can write",
            setting=settings.HOME.env,
        ) from None
    pgdata = _pgdata_dir(root)
    with _servers_lock:
        server = _servers.get(pgdata)
        if server is None:
            try:
                with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset: harmless
                    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
                    import pgserver
            except ImportError as exc:  # pragma: no cover - the extra is part of [postgres]
                raise SinkUnavailableError(
                    "the embedded PostgreSQL needs pgserver: pip install 'smarter-obs[postgres]', "
                    "or pass --postgres DSN / set SMARTER_OBS_POSTGRES_DSN"
                ) from exc
            try:
                server = pgserver.get_server(pgdata, cleanup_mode="stop")
            except Exception as exc:
                raise SinkUnavailableError(
                    f"could not start the embedded PostgreSQL in {pgdata}: {exc} (see {pgdata / 'log'})"
                ) from exc
            _servers[pgdata] = server
    return server.get_uri()


def stop_embedded(path: str | Path) -> None:
    """Stop the embedded server started by :func:`start_embedded` for ``path`` (if this process runs it)."""
    pgdata = _pgdata_dir(Path(path).expanduser().absolute())
    with _servers_lock:
        server = _servers.pop(pgdata, None)
    if server is not None:
        server.cleanup()


def _pgdata_dir(root: Path) -> Path:
    """Where the cluster lives: ``root/pgdata``, or, for a throwaway cluster run as root, a directory it
    links to.

    Started by root, pgserver runs PostgreSQL as an unprivileged user that must traverse every parent
    directory (it widens their permissions itself). Under the temp directory that races with pytest, which
    resets its temp root to 0700 at any time, so a throwaway cluster there goes to a fresh
    world-traversable temp directory that ``root/pgdata`` links to, removed at exit.
    """
    pgdata = root / "pgdata"
    if os.name != "posix" or os.geteuid() != 0:
        return pgdata
    if pgdata.is_symlink():
        if pgdata.resolve().is_dir():
            return pgdata.resolve()
        pgdata.unlink()  # dangling (e.g. /tmp was cleaned): start over
    throwaway = root.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    if pgdata.exists() or not throwaway or all(p.stat().st_mode & stat.S_IXOTH for p in root.parents):
        return pgdata
    target = Path(tempfile.mkdtemp(prefix="smarter-obs-pg-"))
    pgdata.symlink_to(target, target_is_directory=True)
    atexit.register(_remove_stopped_cluster, target)  # runs after pgserver's own atexit hook stopped it
    return target


def _remove_stopped_cluster(pgdata: Path) -> None:
    if not (pgdata / "postmaster.pid").exists():  # still running for another process: leave it
        shutil.rmtree(pgdata, ignore_errors=True)


def embedded_dsn() -> str:
    """DSN of the default embedded PostgreSQL under ``$SMARTER_OBS_HOME/postgres`` (started if needed)."""
    return start_embedded(settings.home() / "postgres")


def resolve_dsn(dsn: str | None) -> str:
    """argument > ``SMARTER_OBS_POSTGRES_DSN`` > ``SUPABASE_DB_URL`` > the embedded server."""
    resolved = settings.POSTGRES_DSN.get(dsn)
    return resolved if resolved else embedded_dsn()


def connect(
    dsn: str | None = None, *, autocommit: bool = True, connect_timeout: int = 10
) -> psycopg.Connection:
    """A psycopg 3 connection; ``None`` → ``SMARTER_OBS_POSTGRES_DSN`` / ``SUPABASE_DB_URL`` → embedded.

    Autocommit by default: writers open explicit ``conn.transaction()`` blocks, so reads never leave a
    session idle in a transaction (which a transaction pooler would pin).
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    resolved = resolve_dsn(dsn)
    try:
        params = conninfo_to_dict(resolved)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(
            f"invalid PostgreSQL DSN {redact_dsn(resolved)}: {_scrub(str(exc).strip(), resolved)}; "
            "use postgresql://user:password@host:5432/dbname or key=value form",
            setting=settings.POSTGRES_DSN.env,
        ) from None
    extra: dict[str, Any] = {"prepare_threshold": None, "autocommit": autocommit}
    if "connect_timeout" not in params:
        extra["connect_timeout"] = connect_timeout
    if "application_name" not in params:
        extra["application_name"] = "smarter-obs"
    try:
        return psycopg.connect(resolved, **extra)
    except psycopg.Error as exc:
        raise SinkUnavailableError(
            f"cannot connect to PostgreSQL at {redact_dsn(resolved)}: {_scrub(str(exc).strip(), resolved)}"
        ) from None


def _is_retryable(exc: Exception) -> bool:
    import psycopg

    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate:
        return sqlstate.startswith(_RETRYABLE_SQLSTATE_PREFIXES)
    # no SQLSTATE: the connection itself broke (server gone, socket closed)
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


@contextlib.contextmanager
def sink_errors(what: str, *, table: str | None = None) -> Iterator[None]:
    """Map psycopg errors raised inside the block to SinkUnavailableError / SinkError naming ``what``.

    For errors of an open connection, whose messages never carry the DSN (connecting is :func:`connect`).
    """
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        message = str(exc).strip()
        sqlstate = getattr(exc, "sqlstate", None)
        detail = f"{what}: {type(exc).__name__}" + (f" [{sqlstate}]" if sqlstate else "") + f": {message}"
        if _is_retryable(exc):
            raise SinkUnavailableError(detail, table=table) from None
        raise SinkError(detail, table=table) from None


def upsert(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    key: Sequence[str],
    touch: str | None = None,
) -> int:
    """Insert ``rows`` or update the existing ones that differ; return how many rows changed.

    ``INSERT … SELECT FROM stage ON CONFLICT (key) DO UPDATE SET … WHERE (cols) IS DISTINCT FROM
    (EXCLUDED cols)``: replaying a batch changes nothing, a real change updates once. ``touch`` names a
    timestamp column set to ``now()`` on insert and on a real update only. Rows are bulk-loaded with COPY
    into a staging table dropped at commit; duplicate keys in one batch keep the last row. Call inside
    ``conn.transaction()`` to make it atomic with other writes (e.g. a watermark); alone it is atomic itself.
    """
    from psycopg import sql

    columns = list(columns)
    key_idx = [columns.index(k) for k in key]
    unique: dict[tuple[Any, ...], Sequence[Any]] = {}
    for row in rows:
        unique[tuple(row[i] for i in key_idx)] = row
    if not unique:
        return 0
    value_cols = [c for c in columns if c not in key]
    stage = sql.Identifier(f"_stage_{table}_{next(_stage_counter)}")
    target = sql.Identifier(table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    set_parts = [sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in value_cols]
    insert_cols = cols
    select_cols = cols
    if touch:
        set_parts.append(sql.SQL("{} = now()").format(sql.Identifier(touch)))
        insert_cols = sql.SQL("{}, {}").format(cols, sql.Identifier(touch))
        select_cols = sql.SQL("{}, now()").format(cols)
    conflict = (
        sql.SQL(" ON CONFLICT ({key}) DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})").format(
            key=sql.SQL(", ").join(map(sql.Identifier, key)),
            sets=sql.SQL(", ").join(set_parts),
            old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in value_cols),
            new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in value_cols),
        )
        if value_cols
        else sql.SQL(" ON CONFLICT ({key}) DO NOTHING").format(
            key=sql.SQL(", ").join(map(sql.Identifier, key))
        )
    )
    # own transaction (a savepoint inside the caller's): the ON COMMIT DROP stage must live until the INSERT
    with sink_errors(f"upsert into {table}", table=table), conn.transaction(), conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {cols} FROM {target} WITH NO DATA"
            ).format(stage=stage, cols=cols, target=target)
        )
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, cols)) as copy:
            for row in unique.values():
                copy.write_row(row)
        cur.execute(
            sql.SQL("INSERT INTO {target} AS t ({icols}) SELECT {scols} FROM {stage}").format(
                target=target, icols=insert_cols, scols=select_cols, stage=stage
            )
            + conflict
        )
        changed = cur.rowcount
        cur.execute(sql.SQL("DROP TABLE {}").format(stage))
    return max(changed, 0)
