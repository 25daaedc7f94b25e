"""Helpers shared by the n8n tests: build a collector against the fake and read back what it stored."""

from __future__ import annotations

from smarter_obs.collectors.n8n.collector import N8nCollector
from smarter_obs.collectors.n8n.source import N8nClient
from tests.collectors.n8n.fake_n8n import FakeN8n

INSTANCE = "n8n-test"
COLUMNS = (
    "instance, id, workflow_id, status, mode, trigger_source, started_at, stopped_at, retry_of, "
    "retry_success_id, wait_till"
)


def collector(
    fake: FakeN8n,
    dsn: str,
    *,
    instance: str = INSTANCE,
    page_size: int = 50,
    retries: int = 5,
    sleeps: list[float] | None = None,
    api_key: str | None = None,
) -> N8nCollector:
    """A collector on ``fake`` whose backoff sleeps are recorded in ``sleeps`` instead of slept."""
    record = sleeps if sleeps is not None else []
    client = N8nClient(fake.url, api_key or fake.api_key, retries=retries, backoff=0.01, sleep=record.append)
    return N8nCollector(client, dsn, instance=instance, page_size=page_size)


def stored(dsn: str, instance: str = INSTANCE) -> set[tuple]:
    """The n8n_executions rows of ``instance`` in FakeN8n.expected_rows' shape."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return set(conn.execute(f"SELECT {COLUMNS} FROM n8n_executions WHERE instance = %s", (instance,)))


def count(dsn: str, sql: str, *params: object) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchone()[0]


def list_requests(fake: FakeN8n) -> list[str]:
    return [r for r in fake.requests if r.startswith("/api/v1/executions?")]
