"""Fixtures shared by every test package: the embedded stores.

chDB allows one data directory per process, so the whole test session shares one chDB directory and each
test gets its own database in it. PostgreSQL (pgserver) is one server per session, one database per test.
"""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def chdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``chdb:///…`` URL of the session's embedded ClickHouse (no database in it)."""
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def clickhouse_database(request: pytest.FixtureRequest) -> str:
    """A database name unique to this test (created by whoever migrates it)."""
    return f"t{os.getpid()}_{next(_counter)}"


@pytest.fixture
def clickhouse(chdb_url: str, clickhouse_database: str):
    """A clickhouse-connect client on the session chDB, with this test's database migrated."""
    from smarter_obs.db.clickhouse import migrate
    from smarter_obs.sinks.clickhouse import connect

    migrate(chdb_url, database=clickhouse_database)
    client = connect(chdb_url)
    client.database = clickhouse_database
    yield client


@pytest.fixture(scope="session")
def postgres_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """DSN of a real PostgreSQL started by pgserver for the whole session."""
    from smarter_obs.sinks.postgres import start_embedded

    return start_embedded(tmp_path_factory.mktemp("pg"))


@pytest.fixture
def postgres_dsn(postgres_server_dsn: str) -> str:
    """DSN of a fresh, empty database on the session PostgreSQL."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(postgres_server_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # name is generated above, not user input
    params = conninfo_to_dict(postgres_server_dsn)
    params["dbname"] = name
    return make_conninfo(**params)
