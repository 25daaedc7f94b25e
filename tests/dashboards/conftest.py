"""Fixtures of the dashboards tests: the repository's own project, and the seeded data set, written once per
session through the real paths into the session's chDB (database ``dashboards_seed``) and a PostgreSQL
database of its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dashboards import seed

REPO = Path(__file__).resolve().parents[2]
SEED_DATABASE = "dashboards_seed"


@pytest.fixture(scope="session")
def project():
    from smarter_obs.dashboards import load_project

    return load_project(REPO)


@dataclass
class Seeded:
    datasources: dict
    spans: seed.SpanData
    kafka: seed.KafkaData
    n8n: seed.N8nData


@pytest.fixture(scope="session")
def seeded(chdb_url: str, postgres_server_dsn: str):
    """Every panel's data, seeded once; ``datasources`` is what ``run_query`` needs to read it."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from smarter_obs.dashboards.datasources import Connection, close_connections
    from smarter_obs.db.clickhouse import migrate

    # ttl_days=0: the data set has fixed dates in the past, which a TTL would drop
    migrate(chdb_url, database=SEED_DATABASE, ttl_days=0)
    spans = seed.seed_spans(chdb_url, SEED_DATABASE)
    kafka = seed.seed_kafka(chdb_url, SEED_DATABASE)
    with psycopg.connect(postgres_server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SEED_DATABASE}"')
        conn.execute(f'CREATE DATABASE "{SEED_DATABASE}"')
    params = conninfo_to_dict(postgres_server_dsn)
    params["dbname"] = SEED_DATABASE
    dsn = make_conninfo(**params)
    n8n = seed.seed_n8n(dsn)
    yield Seeded(
        datasources={"clickhouse": Connection(chdb_url, SEED_DATABASE), "supabase": dsn},
        spans=spans,
        kafka=kafka,
        n8n=n8n,
    )
    close_connections()
