"""Session fixtures: the seeded Supabase database (part 1's, grown with the business rows) and a seeded
Chatwoot database, on the session PostgreSQL.

Seeded once per session (read-only for the tests that use them); tests that write make their own database
with ``fresh_database``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import date

import pytest

from smarter_obs.seed.business import BusinessData, generate_business
from smarter_obs.seed.chatwoot import ChatwootData, generate_chatwoot

#: The seeded data sets: 90 UTC days from this date (the fixed ranges of the tests lie inside).
SEED_START = date(2025, 1, 6)
SEED_DAYS = 90

_names = itertools.count()


@pytest.fixture(scope="session")
def fresh_database(postgres_server_dsn: str) -> Callable[[str], str]:
    """``make(prefix)`` → the DSN of a new empty database on the session server."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    def make(prefix: str) -> str:
        name = f"{prefix}{os.getpid()}_{next(_names)}"
        with psycopg.connect(postgres_server_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # generated name, not user input
        params = conninfo_to_dict(postgres_server_dsn)
        params["dbname"] = name
        return make_conninfo(**params)

    return make


@pytest.fixture(scope="session")
def business_data() -> BusinessData:
    return generate_business(seed=11, start=SEED_START, days=SEED_DAYS, tenants=3, profiles=400)


@pytest.fixture(scope="session")
def chatwoot_data() -> ChatwootData:
    return generate_chatwoot(seed=11, start=SEED_START, days=SEED_DAYS, accounts=2)


@pytest.fixture(scope="session")
def supabase_dsn(seeded, business_data: BusinessData) -> str:
    """The dashboards' seeded Supabase database (part 1's n8n executions, migrated with every
    ``provisioning/postgres`` file), grown with ``business_data``: one Supabase, as in production."""
    from smarter_obs.seed.business import write_business
    from smarter_obs.sinks.postgres import connect

    dsn = seeded.datasources["supabase"]
    with connect(dsn) as conn:
        write_business(conn, business_data)
    return dsn


@pytest.fixture(scope="session")
def chatwoot_dsn(fresh_database, chatwoot_data: ChatwootData) -> str:
    """A database with the project's Chatwoot DDL holding ``chatwoot_data``."""
    from smarter_obs.seed.chatwoot import create_chatwoot_schema, write_chatwoot
    from smarter_obs.sinks.postgres import connect

    dsn = fresh_database("chatwoot")
    with connect(dsn) as conn:
        create_chatwoot_schema(conn)
        write_chatwoot(conn, chatwoot_data)
    return dsn
