"""The n8n collector against the fake n8n API and a real PostgreSQL: the table must equal the source."""

from __future__ import annotations

import math

import psycopg
import pytest

from smarter_obs.errors import SourceAuthError, SourceDataError, SourceUnavailableError
from tests.collectors.n8n.fake_n8n import FakeN8n, Fault
from tests.collectors.n8n.helpers import INSTANCE, collector, count, list_requests, stored


def test_backfill_pages_through_everything_and_equals_the_source(fake: FakeN8n, pg: str) -> None:
    c = collector(fake, pg, page_size=23)
    outcome = c.cycle()

    assert outcome.ok
    assert stored(pg) == fake.expected_rows(INSTANCE)
    visible = len(fake.executions) - len(fake.ids_with_status("running"))
    assert len(list_requests(fake)) == math.ceil(visible / 23)
    assert all("limit=23" in r or "cursor=" in r for r in list_requests(fake))


def test_workflows_are_stored_with_their_trigger_source(fake: FakeN8n, pg: str) -> None:
    collector(fake, pg).cycle()

    with psycopg.connect(pg) as conn:
        rows = dict(
            conn.execute("SELECT id, trigger_source FROM n8n_workflows WHERE instance = %s", (INSTANCE,))
        )
    assert rows == fake.kinds
    assert set(rows.values()) == {"kafka", "webhook", "schedule", "manual", "other"}


def test_trigger_sources_of_executions_cover_the_dashboard_breakdown(fake: FakeN8n, pg: str) -> None:
    collector(fake, pg).cycle()

    with psycopg.connect(pg) as conn:
        by_source = dict(conn.execute("SELECT trigger_source, count(*) FROM n8n_executions GROUP BY 1"))
        kafka_modes = {
            m
            for (m,) in conn.execute(
                "SELECT DISTINCT mode FROM n8n_executions WHERE trigger_source IN ('kafka', 'schedule')"
            )
        }
    assert {"kafka", "webhook", "schedule"} <= set(by_source)
    assert kafka_modes <= {"trigger", "retry"}  # mode alone says "trigger" for both Kafka and Schedule


def test_rerun_with_nothing_new_changes_no_row(fake: FakeN8n, pg: str) -> None:
    c = collector(fake, pg)
    c.cycle()
    synced = count(pg, "SELECT count(DISTINCT synced_at) FROM n8n_executions")
    before = stored(pg)

    again = c.cycle()

    assert again.rows == 0
    assert stored(pg) == before
    assert count(pg, "SELECT count(DISTINCT synced_at) FROM n8n_executions") == synced


def test_incremental_run_reads_only_new_pages(fake: FakeN8n, pg: str) -> None:
    c = collector(fake, pg, page_size=25)
    c.cycle()
    fake.requests.clear()
    new = fake.add(40)

    outcome = c.cycle()

    assert stored(pg) == fake.expected_rows(INSTANCE)
    retried = {
        fake.executions[i].retry_of
        for i in new
        if fake.executions[i].retry_of and fake.executions[i].status == "success"
    }  # their originals got a retrySuccessId
    assert outcome.rows == len(new) + len(retried)
    assert len(list_requests(fake)) == 2  # 40 new ids, 25 a page: the 2nd page reaches the watermark


def test_unfinished_executions_are_reread_until_finished(fake: FakeN8n, pg: str) -> None:
    c = collector(fake, pg)
    c.cycle()
    unfinished = fake.ids_with_status("new", "running", "waiting")
    assert unfinished and fake.ids_with_status("running"), "the seed should produce unfinished executions"
    assert count(
        pg, "SELECT count(*) FROM n8n_executions WHERE status IN ('new', 'running', 'waiting')"
    ) == len(unfinished)

    for eid in unfinished:
        fake.finish(eid, "success" if eid % 2 else "error")
    c.cycle()

    assert stored(pg) == fake.expected_rows(INSTANCE)
    assert count(pg, "SELECT count(*) FROM n8n_executions WHERE status IN ('new', 'running', 'waiting')") == 0
    assert count(
        pg,
        "SELECT count(*) FROM n8n_executions WHERE id = ANY(%s) AND duration_ms = 1234",
        [str(i) for i in unfinished],
    ) == len(unfinished)


def test_execution_running_during_a_walk_is_not_lost(fake: FakeN8n, pg: str) -> None:
    c = collector(fake, pg)
    c.cycle()
    running = fake.start_running()  # invisible to GET /executions while it runs
    fake.add(5)

    c.cycle()
    assert (INSTANCE, str(running)) in {row[:2] for row in stored(pg)}
    assert stored(pg) == fake.expected_rows(INSTANCE)

    fake.finish(running)
    c.cycle()
    assert stored(pg) == fake.expected_rows(INSTANCE)


def test_successful_retry_updates_the_original(fake: FakeN8n, pg: str) -> None:
    c = collector(fake, pg)
    c.cycle()
    original = next(
        i
        for i in fake.ids_with_status("error")
        if fake.executions[i].retry_success_id is None and fake.executions[i].mode != "retry"
    )

    retry = fake.retry(original)
    c.cycle()

    with psycopg.connect(pg) as conn:
        got = conn.execute(
            "SELECT retry_success_id FROM n8n_executions WHERE id = %s", (str(original),)
        ).fetchone()
        mode, retry_of = conn.execute(
            "SELECT mode, retry_of FROM n8n_executions WHERE id = %s", (str(retry),)
        ).fetchone()
    assert got == (str(retry),)
    assert (mode, retry_of) == ("retry", str(original))
    assert stored(pg) == fake.expected_rows(INSTANCE)


def test_deleted_unfinished_execution_disappears(fake: FakeN8n, pg: str) -> None:
    c = collector(fake, pg)
    c.cycle()
    waiting = fake.ids_with_status("waiting")[0]

    fake.delete(waiting)
    c.cycle()

    assert count(pg, "SELECT count(*) FROM n8n_executions WHERE id = %s", str(waiting)) == 0
    assert stored(pg) == fake.expected_rows(INSTANCE)


def test_429_5xx_and_dropped_connections_are_retried(fake: FakeN8n, pg: str) -> None:
    fake.faults += [
        Fault("status", code=429, retry_after="7", after=1),
        Fault("status", code=500, after=2),
        Fault("status", code=502, path="/api/v1/workflows"),
        Fault("drop", after=3),
        Fault("drop", path="/api/v1/executions/"),
    ]
    sleeps: list[float] = []

    outcome = collector(fake, pg, sleeps=sleeps).cycle()

    assert outcome.ok
    assert all(f.applied == 1 for f in fake.faults)
    assert 7.0 in sleeps  # Retry-After honoured
    assert len(sleeps) == 5
    assert stored(pg) == fake.expected_rows(INSTANCE)


def test_persistent_server_errors_give_up_with_a_retryable_error(fake: FakeN8n, pg: str) -> None:
    fake.faults.append(Fault("status", code=503, times=10))
    sleeps: list[float] = []

    with pytest.raises(SourceUnavailableError, match=r"GET /api/v1/executions page 1.*3 attempts.*503"):
        collector(fake, pg, retries=2, sleeps=sleeps).cycle()
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0]  # exponential backoff


def test_401_names_the_variable_to_fix(fake: FakeN8n, pg: str) -> None:
    with pytest.raises(SourceAuthError, match=r"401.*set N8N_API_KEY") as info:
        collector(fake, pg, api_key="n8n_api_wrong").cycle()
    assert "n8n_api_wrong" not in str(info.value)
    assert count(pg, "SELECT count(*) FROM n8n_executions") == 0


@pytest.mark.parametrize(
    "fault, message",
    [
        (Fault("malformed", after=2), r"page 3 .*not valid JSON"),
        (
            Fault("bad_field", after=2, field="startedAt", value="yesterday"),
            r"page 3 .*data\[0\]: field startedAt",
        ),
        (Fault("bad_field", after=2, field="id", value="abc"), r"page 3 .*data\[0\]: field id"),
    ],
)
def test_malformed_page_commits_nothing_from_that_page(
    fake: FakeN8n, pg: str, fault: Fault, message: str
) -> None:
    fake.faults.append(fault)
    c = collector(fake, pg, page_size=20)

    with pytest.raises(SourceDataError, match=message):
        c.cycle()

    visible = sorted((e for e in fake.executions.values() if e.status != "running"), key=lambda e: -e.id)
    committed = {row[1] for row in stored(pg)}
    assert {str(e.id) for e in visible[:40]} <= committed  # pages 1 and 2
    assert not {str(e.id) for e in visible[40:60]} & committed  # nothing from page 3

    c.cycle()  # the fault is gone: the next cycle resumes below page 2 and completes
    assert stored(pg) == fake.expected_rows(INSTANCE)


def test_two_instances_share_one_database(pg: str) -> None:
    with FakeN8n.generate(seed=11, executions=120) as a, FakeN8n.generate(seed=12, executions=80) as b:
        collector(a, pg, instance="tenant-a").cycle()
        collector(b, pg, instance="tenant-b").cycle()

        assert stored(pg, "tenant-a") == a.expected_rows("tenant-a")
        assert stored(pg, "tenant-b") == b.expected_rows("tenant-b")
        assert count(pg, "SELECT count(*) FROM collector_state WHERE collector = 'n8n'") == 2
        assert not a.validation_errors and not b.validation_errors


def test_fake_rejects_responses_that_drift_from_n8n_schemas(fake: FakeN8n) -> None:
    import requests

    fake.workflows[0]["owner"] = "someone"  # not a field of n8n's GET /workflows items
    response = requests.get(
        f"{fake.url}/api/v1/workflows", headers={"X-N8N-API-KEY": fake.api_key}, timeout=5
    )

    assert response.status_code == 500
    assert any("owner" in e for e in fake.validation_errors)
    fake.validation_errors.clear()


def test_interrupted_walk_restarts_from_the_top_when_n8n_rejects_the_resume_cursor(
    fake: FakeN8n, pg: str
) -> None:
    c = collector(fake, pg, page_size=20)
    fake.faults.append(Fault("malformed", after=2))
    with pytest.raises(SourceDataError):
        c.cycle()
    assert c.state.walk is not None
    fake.faults.append(Fault("status", code=400, query_has="cursor="))  # e.g. a version with another format

    c.cycle()

    assert fake.faults[-1].applied == 1
    assert c.state.walk is None
    assert stored(pg) == fake.expected_rows(INSTANCE)


def test_many_waiting_executions_are_refreshed_with_one_filtered_list(
    fake: FakeN8n, pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smarter_obs.collectors.n8n import collector as n8n_collector

    monkeypatch.setattr(n8n_collector, "WAITING_LIST_MIN", 1)
    c = collector(fake, pg)
    c.cycle()
    waiting = fake.ids_with_status("waiting")
    fake.finish(waiting[0])
    fake.requests.clear()

    c.cycle()

    singles = [r for r in fake.requests if r.startswith("/api/v1/executions/")]
    assert any("status=waiting" in r for r in fake.requests)
    assert f"/api/v1/executions/{waiting[0]}" in singles  # left the waiting list: read by id
    assert not {f"/api/v1/executions/{i}" for i in waiting[1:]} & set(singles)  # still waiting: no GET each
    assert stored(pg) == fake.expected_rows(INSTANCE)


def test_fake_rejects_requests_n8n_does_not_document(fake: FakeN8n) -> None:
    import requests

    response = requests.get(
        f"{fake.url}/api/v1/executions",
        params={"limit": 500, "orderBy": "id"},
        headers={"X-N8N-API-KEY": fake.api_key},
        timeout=5,
    )

    assert response.status_code == 400
    assert any("orderBy" in e and "maximum of 250" in e for e in fake.validation_errors)
    fake.validation_errors.clear()


def test_dashboard_queries_from_the_docs_run_on_collected_data(fake: FakeN8n, pg: str) -> None:
    collector(fake, pg).cycle()
    with psycopg.connect(pg) as conn:
        hourly = conn.execute("""
            SELECT date_trunc('hour', started_at) AS t, trigger_source, count(*) AS executions,
                   avg((status IN ('error', 'crashed'))::int) AS error_rate,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
            FROM n8n_executions
            WHERE status NOT IN ('new', 'running', 'waiting')
            GROUP BY 1, 2 ORDER BY 1""").fetchall()
        slowest = conn.execute("""
            SELECT w.name, count(*), avg(e.duration_ms)
            FROM n8n_executions e JOIN n8n_workflows w ON w.instance = e.instance AND w.id = e.workflow_id
            GROUP BY 1 ORDER BY 3 DESC LIMIT 10""").fetchall()

    finished = [e for e in fake.executions.values() if e.status not in ("new", "running", "waiting")]
    assert sum(row[2] for row in hourly) == len(finished)
    assert all(0 <= row[3] <= 1 and row[4] > 0 for row in hourly)
    assert len(slowest) == 10 and slowest[0][2] >= slowest[-1][2]


def test_missing_ids_are_probed_once_when_old_and_kept_a_while_when_fresh(pg: str) -> None:
    """n8n leaves ids unused (executions not saved); old holes cost one 404, fresh ones are re-probed."""
    with FakeN8n.generate(seed=21, executions=200, hole_rate=0.05) as fake:
        holes = set(range(1, fake.next_id)) - set(fake.executions)
        assert holes, "the seed should leave ids n8n did not keep"
        old = collector(fake, pg, instance="old")
        old.cycle()
        assert old.state.gaps == {}  # their neighbours started long ago: one 404 is final

        listed = sorted(i for i, e in fake.executions.items() if e.status != "running")
        victim = listed[-2]  # just below the newest listed execution
        now = [fake.executions[listed[-1]].started.timestamp() + 5]
        fresh = collector(fake, pg, instance="fresh")
        fresh.clock = lambda: now[0]
        fake.delete(victim)  # as if n8n had not committed it yet, or never will
        fresh.cycle()
        assert str(victim) in fresh.state.gaps  # its neighbour started 5 s "ago": keep probing

        now[0] += 60
        fresh.cycle()
        assert str(victim) not in fresh.state.gaps
        assert stored(pg, "fresh") == fake.expected_rows("fresh")


def test_stop_during_gap_probes_keeps_the_rest_for_the_next_cycle(pg: str) -> None:
    from smarter_obs.run import StopFlag

    with FakeN8n.generate(seed=21, executions=200, hole_rate=0.05) as fake:
        c = collector(fake, pg)
        read_one = c.client.execution

        def execution_then_sigterm(eid: str):
            c.stop.set()  # as SIGTERM would, while the first probe is in flight
            return read_one(eid)

        c.client.execution = execution_then_sigterm
        c.cycle()
        probes = [r for r in fake.requests if r.startswith("/api/v1/executions/")]
        assert len(probes) == 1  # stopped between requests, not after every probe
        assert c.state.gaps  # the unprobed ids are kept

        c.client.execution, c.stop = read_one, StopFlag()
        c.cycle()
        assert c.state.gaps == {}
        assert stored(pg) == fake.expected_rows(INSTANCE)
