"""PostgreSQL / Supabase schema migrations: ``provisioning/postgres/NNNN_name.sql`` applied in order.

Each file runs in one transaction together with its row in ``smarter_obs_migrations``, under a
transaction-scoped advisory lock, so concurrent collectors migrating the same database apply each version
exactly once (and it works through Supabase's transaction pooler: no session state is used).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from smarter_obs import settings
from smarter_obs.db._runner import Migration, MigrationReport, discover, provisioning_dir, run

__all__ = ["MIGRATIONS_TABLE", "migrate", "migrations_dir"]

MIGRATIONS_TABLE = "smarter_obs_migrations"
# Arbitrary constant: the advisory-lock key that serialises smarter-obs migrations on one database.
_LOCK_KEY = 0x736D6F62  # "smob"


class _PostgresBackend:
    def __init__(self, conn) -> None:
        self.conn = conn

    def ensure_migrations_table(self) -> None:
        from smarter_obs.sinks.postgres import sink_errors

        with sink_errors(f"create {MIGRATIONS_TABLE}"), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
                " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )

    def applied_versions(self) -> dict[int, str]:
        from smarter_obs.sinks.postgres import sink_errors

        with sink_errors(f"read {MIGRATIONS_TABLE}"):
            rows = self.conn.execute(f"SELECT version, checksum FROM {MIGRATIONS_TABLE}").fetchall()
        return {int(v): c for v, c in rows}

    def apply(self, migration: Migration) -> None:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            done = self.conn.execute(
                f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE version = %s", (migration.version,)
            ).fetchone()
            if done:  # another process applied it while we waited for the lock
                return
            for statement in migration.statements():
                self.conn.execute(statement)
            self.conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )


def migrations_dir() -> Path:
    """The PostgreSQL migrations (``$SMARTER_OBS_POSTGRES_MIGRATIONS`` or ``provisioning/postgres``)."""
    return provisioning_dir("postgres", settings.POSTGRES_MIGRATIONS.env)


def migrate(dsn: str | None = None, *, progress: Callable[[str], None] | None = None) -> MigrationReport:
    """Create/upgrade the PostgreSQL tables (n8n_workflows, n8n_executions, collector_state, …).

    ``dsn`` None → ``SMARTER_OBS_POSTGRES_DSN`` / ``SUPABASE_DB_URL`` → the embedded server. Idempotent: a
    second run applies 0.
    """
    from smarter_obs.sinks.postgres import connect

    migrations = discover(migrations_dir())
    with connect(dsn) as conn:
        return run(_PostgresBackend(conn), migrations, progress)
