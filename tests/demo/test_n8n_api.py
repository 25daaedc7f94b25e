"""The n8n simulator answers like n8n (its bodies validate against n8n's published schemas) and the real
n8n collector copies every execution it serves into PostgreSQL."""

from __future__ import annotations

import time

import pytest
import requests

from smarter_obs.demo.n8n_api import API_KEY, N8nSimulator
from tests.collectors.n8n import n8n_spec

END = 1_796_000_000.0  # a fixed Tuesday, so the data set is the same on every run
START = END - 3 * 86400


@pytest.fixture(scope="module")
def simulator():
    with N8nSimulator.generate(executions=600, start=START, end=END, seed=3) as sim:
        yield sim


def _get(sim: N8nSimulator, path: str, **params) -> requests.Response:
    return requests.get(sim.url + path, params=params, headers={"X-N8N-API-KEY": API_KEY}, timeout=10)


def test_every_page_validates_against_the_n8n_schemas(simulator: N8nSimulator) -> None:
    seen, cursor = [], None
    while True:
        response = _get(simulator, "/api/v1/executions", limit=250, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200
        body = response.json()
        assert n8n_spec.errors(n8n_spec.response_validator(n8n_spec.EXECUTIONS), body) == []
        seen += [int(item["id"]) for item in body["data"]]
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(simulator.executions)
    one = _get(simulator, f"/api/v1/executions/{seen[0]}").json()
    assert n8n_spec.errors(n8n_spec.response_validator(n8n_spec.EXECUTION), one) == []
    workflows = _get(simulator, "/api/v1/workflows", limit=3).json()
    assert n8n_spec.errors(n8n_spec.response_validator(n8n_spec.WORKFLOWS), workflows) == []
    assert workflows["nextCursor"]


def test_it_refuses_what_n8n_refuses(simulator: N8nSimulator) -> None:
    assert requests.get(simulator.url + "/api/v1/executions", timeout=10).status_code == 401
    assert _get(simulator, "/api/v1/executions", limit=251).status_code == 400
    assert _get(simulator, "/api/v1/executions", cursor="not-base64!").status_code == 400
    assert _get(simulator, "/api/v1/executions/999999").status_code == 404


def test_the_history_spans_the_range_with_every_trigger_kind(simulator: N8nSimulator) -> None:
    started = [e.started.timestamp() for e in simulator.executions.values()]
    assert START <= min(started) < START + 86400 and END - 86400 < max(started) <= END + 600
    modes = {e.mode for e in simulator.executions.values()}
    assert {"trigger", "webhook", "manual"} <= modes
    statuses = {e.status for e in simulator.executions.values()}
    assert {"success", "error"} <= statuses


def test_the_n8n_collector_copies_every_execution(simulator: N8nSimulator, postgres_dsn: str) -> None:
    from smarter_obs import _collectors as c
    from smarter_obs.db.postgres import migrate
    from smarter_obs.sinks.postgres import connect

    migrate(postgres_dsn)
    collector = c.N8nCollector(
        c.N8nClient(simulator.url, API_KEY), postgres_dsn, instance="demo", clock=time.time
    )
    try:
        assert collector.cycle().ok
    finally:
        collector.close()
    with connect(postgres_dsn) as conn:
        rows = dict(conn.execute("SELECT trigger_source, count(*) FROM n8n_executions GROUP BY 1").fetchall())
    assert sum(rows.values()) == len(simulator.executions)
    assert {"kafka", "webhook", "schedule"} <= set(rows)
