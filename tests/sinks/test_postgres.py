"""The PostgreSQL sink and migrations on a real PostgreSQL (pgserver)."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from smarter_obs.cli import main
from smarter_obs.db import discover
from smarter_obs.db.postgres import MIGRATIONS_TABLE, migrate, migrations_dir
from smarter_obs.errors import SinkError, SinkUnavailableError
from smarter_obs.sinks.postgres import connect, embedded_dsn, redact_dsn, sink_errors, stop_embedded, upsert

COLUMNS = ("k", "name", "n")


@pytest.fixture
def conn(postgres_dsn: str):
    with connect(postgres_dsn) as c:
        c.execute("CREATE TABLE items (k text PRIMARY KEY, name text, n int, touched timestamptz)")
        yield c


def _rows(conn) -> dict:
    return {k: (name, n) for k, name, n in conn.execute("SELECT k, name, n FROM items")}


def test_no_server_side_prepared_statements_for_transaction_poolers(conn) -> None:
    assert conn.prepare_threshold is None
    for _ in range(10):
        conn.execute("SELECT count(*) FROM items WHERE k = %s", ("x",))
    upsert(conn, "items", COLUMNS, [("a", "x", 1)], key=("k",))
    upsert(conn, "items", COLUMNS, [("a", "y", 1)], key=("k",))
    assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0


def test_upsert_changes_a_row_only_when_it_changed(conn) -> None:
    rows = [("a", "alpha", 1), ("b", "beta", 2), ("c", None, 3)]
    assert upsert(conn, "items", COLUMNS, rows, key=("k",), touch="touched") == 3
    touched = dict(conn.execute("SELECT k, touched FROM items"))

    assert upsert(conn, "items", COLUMNS, rows, key=("k",), touch="touched") == 0
    assert (
        upsert(conn, "items", COLUMNS, [("a", "alpha", 1), ("c", None, 4)], key=("k",), touch="touched") == 1
    )

    after = dict(conn.execute("SELECT k, touched FROM items"))
    assert after["a"] == touched["a"] and after["c"] > touched["c"]  # NULLs compare as values, not unknown
    assert _rows(conn) == {"a": ("alpha", 1), "b": ("beta", 2), "c": (None, 4)}


def test_duplicate_keys_in_one_batch_keep_the_last(conn) -> None:
    assert upsert(conn, "items", COLUMNS, [("a", "old", 1), ("a", "new", 2)], key=("k",)) == 1
    assert _rows(conn) == {"a": ("new", 2)}
    assert upsert(conn, "items", COLUMNS, [], key=("k",)) == 0


def test_upsert_is_atomic_with_the_surrounding_transaction(conn) -> None:
    with pytest.raises(RuntimeError), conn.transaction():
        upsert(conn, "items", COLUMNS, [("a", "x", 1)], key=("k",))
        upsert(conn, "items", COLUMNS, [("b", "y", 2)], key=("k",))  # same table twice in one transaction
        raise RuntimeError("crash before commit")
    assert _rows(conn) == {}


def test_driver_errors_become_sink_errors(conn) -> None:
    with pytest.raises(SinkError, match=r"upsert into items: .*UndefinedColumn") as info:
        upsert(conn, "items", ("k", "nope"), [("a", 1)], key=("k",))
    assert not isinstance(info.value, SinkUnavailableError)
    with pytest.raises(SinkError, match="count things"), sink_errors("count things"):
        conn.execute("SELECT * FROM no_such_table")


def test_unreachable_database_is_retryable_and_never_shows_the_password(tmp_path: Path) -> None:
    dsn = f"postgresql://collector:s3cret-pw@/postgres?host={tmp_path}&port=5999"
    with pytest.raises(SinkUnavailableError) as info:
        connect(dsn, connect_timeout=2)
    assert "s3cret-pw" not in str(info.value)
    assert "***" in str(info.value)
    assert "s3cret-pw" not in redact_dsn("host=db.example.com user=u password=s3cret-pw dbname=postgres")


def test_dsn_from_the_environment(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTER_OBS_POSTGRES_DSN", postgres_dsn)
    with connect(None) as c:
        assert (
            c.execute("SELECT current_database()").fetchone()[0]
            == psycopg.conninfo.conninfo_to_dict(postgres_dsn)["dbname"]
        )


def test_embedded_default_lives_under_smarter_obs_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMARTER_OBS_POSTGRES_DSN", raising=False)
    monkeypatch.delenv("SUPABASE_DB_URL", raising=False)
    monkeypatch.setenv("SMARTER_OBS_HOME", str(tmp_path / "home"))
    with connect(None) as c:
        data_dir = c.execute("SHOW data_directory").fetchone()[0]
    assert Path(data_dir).resolve() == (tmp_path / "home" / "postgres" / "pgdata").resolve()
    dsn = embedded_dsn()

    stop_embedded(tmp_path / "home" / "postgres")

    with pytest.raises(SinkUnavailableError, match="cannot connect"):
        connect(dsn, connect_timeout=2)


def test_migrate_is_versioned_and_idempotent(postgres_dsn: str) -> None:
    first = migrate(postgres_dsn)
    second = migrate(postgres_dsn)

    files = [m.version for m in discover(migrations_dir())]  # every provisioning/postgres file
    assert files[:4] == [1, 2, 3, 4] and [m.version for m in first.applied] == files
    assert second.applied == [] and len(second.skipped) == len(files)
    with psycopg.connect(postgres_dsn) as c:
        tables = {t for (t,) in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        indexes = {
            i for (i,) in c.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'n8n_executions'")
        }
        versions = c.execute(f"SELECT count(*) FROM {MIGRATIONS_TABLE}").fetchone()[0]
    assert {"n8n_workflows", "n8n_executions", "collector_state", MIGRATIONS_TABLE} <= tables
    assert {
        "n8n_executions_started_idx",
        "n8n_executions_trigger_idx",
        "n8n_executions_status_idx",
        "n8n_executions_workflow_idx",
    } <= indexes
    assert versions == len(files)


def test_concurrent_migrations_apply_each_version_once(postgres_dsn: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(postgres_dsn)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(postgres_dsn) as c:
        files = len(discover(migrations_dir()))
        assert c.execute(f"SELECT count(*), count(DISTINCT version) FROM {MIGRATIONS_TABLE}").fetchone() == (
            files,
            files,
        )


def test_db_migrate_command(postgres_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    files = len(discover(migrations_dir()))
    assert main(["db", "migrate", "--postgres", postgres_dsn]) == 0
    assert f"postgres: {files} applied, 0 already applied" in capsys.readouterr().out
    assert main(["db", "migrate", "--postgres", postgres_dsn]) == 0
    assert f"postgres: 0 applied, {files} already applied" in capsys.readouterr().out


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://collector:s3cr%zzet-pw@db.example.com/postgres",
        "postgresql://collector:s3cret-pw@[db.example.com/postgres",
    ],
)
def test_malformed_dsn_is_a_config_error_that_never_shows_the_password(dsn: str) -> None:
    from smarter_obs.errors import ConfigError

    with pytest.raises(ConfigError, match="invalid PostgreSQL DSN") as info:
        connect(dsn)
    assert "s3cr" not in str(info.value)
