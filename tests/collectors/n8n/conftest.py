"""Fixtures for the n8n collector tests: a started fake n8n API and a migrated PostgreSQL database."""

from __future__ import annotations

import pytest

from tests.collectors.n8n.fake_n8n import FakeN8n


@pytest.fixture
def fake():
    """A seeded fake n8n (300 executions over every kind of workflow); fails the test on a schema drift."""
    with FakeN8n.generate(seed=7, executions=300) as server:
        yield server
    assert not server.validation_errors, (
        f"the fake sent responses that n8n's schemas reject: {server.validation_errors}"
    )


@pytest.fixture
def pg(postgres_dsn: str) -> str:
    """A fresh database with the smarter-obs PostgreSQL schema."""
    from smarter_obs.db.postgres import migrate

    migrate(postgres_dsn)
    return postgres_dsn
