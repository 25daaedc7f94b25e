"""N8N Automations (Grafana's PostgreSQL datasource): every panel's query on the executions upserted by the
n8n collector's path equals a Python computation on the generated executions."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from smarter_obs.dashboards import run_query
from smarter_obs.dashboards.query import panel_sql
from smarter_obs.dashboards.timerange import TimeRange
from tests.dashboards import seed
from tests.dashboards.expect import as_utc, assert_shape, bucket, percentile_cont, rows_by

SLUG = "n8n-automations"
WEEK = TimeRange.parse(seed.N8N_START, seed.N8N_START + timedelta(days=7))
FAILED = ("error", "crashed")
LABELS = {"kafka": "Kafka", "webhook": "Webhook", "schedule": "Schedule", "manual": "Manual"}


def _run(project, seeded, panel, variables=None, time_range=WEEK):
    result = run_query(
        project, SLUG, panel, time_range=time_range, variables=variables, datasources=seeded.datasources
    )
    assert_shape(project.dashboard(SLUG).panel(panel), result)
    return result


def _executions(seeded, *, instances=None, workflows=None, time_range=WEEK):
    return [
        e
        for e in seeded.n8n.executions
        if time_range.start <= e.started_at <= time_range.end
        and (instances is None or e.instance in instances)
        and (workflows is None or e.workflow_id in workflows)
    ]


def test_every_panel_has_the_shape_it_draws_and_data(project, seeded):
    for panel in project.dashboard(SLUG).panels:
        assert _run(project, seeded, panel.id).rows, panel.title


@pytest.mark.parametrize(("days", "seconds"), [(7, 600), (1, 120)])
def test_executions_over_time(project, seeded, days, seconds):
    # 7 days over 960 px: 630 s → 10 m buckets; 1 day: 90 s → 2 m
    time_range = TimeRange.parse(seed.N8N_START, seed.N8N_START + timedelta(days=days))
    assert panel_sql(project, SLUG, 1, time_range=time_range).context.interval.ms == seconds * 1000
    expected = Counter(bucket(e.started_at, seconds) for e in _executions(seeded, time_range=time_range))
    got = {as_utc(row[0]): row[1] for row in _run(project, seeded, 1, time_range=time_range).rows}
    assert got == expected


def test_success_vs_error_and_error_rate(project, seeded):
    executions = _executions(seeded)
    per_bucket = defaultdict(lambda: [0, 0])
    for e in executions:
        counts = per_bucket[bucket(e.started_at, 600)]
        counts[0] += e.status == "success"
        counts[1] += e.status in FAILED
    got = rows_by(_run(project, seeded, 2), "time")
    assert {t: [r["success"], r["error"]] for t, r in got.items()} == dict(per_bucket)
    success = sum(e.status == "success" for e in executions)
    failed = sum(e.status in FAILED for e in executions)
    totals = dict(zip(*(lambda r: (r.columns, r.rows[0]))(_run(project, seeded, 3)), strict=True))
    assert totals["error_rate"] == pytest.approx(failed / (success + failed))
    outcome = dict(zip(*(lambda r: (r.columns, r.rows[0]))(_run(project, seeded, 4)), strict=True))
    assert (outcome["success"], outcome["error"], outcome["other"]) == (
        success,
        failed,
        len(executions) - success - failed,
    )


def test_execution_duration_percentiles(project, seeded):
    durations = defaultdict(list)
    for e in _executions(seeded):
        if e.duration_ms is not None:
            durations[bucket(e.started_at, 600)].append(e.duration_ms)
    got = rows_by(_run(project, seeded, 6), "time")
    assert set(got) == set(durations)
    for key, values in durations.items():
        assert got[key]["p50"] == pytest.approx(percentile_cont(values, 0.5))
        assert got[key]["p95"] == pytest.approx(percentile_cont(values, 0.95))


@pytest.mark.parametrize(
    ("variables", "filters"),
    [
        (None, {}),
        ({"instance": "n8n.smarterbot.cl"}, {"instances": {"n8n.smarterbot.cl"}}),
        ({"workflow": ["102", "105"]}, {"workflows": {"102", "105"}}),
    ],
)
def test_trigger_source_breakdown(project, seeded, variables, filters):
    counts = Counter(LABELS.get(e.trigger_source, "Other") for e in _executions(seeded, **filters))
    result = _run(project, seeded, 5, variables)
    assert {row[0]: row[1] for row in result.rows} == counts
    assert [row[0] for row in result.rows] == sorted(counts, key=lambda label: (-counts[label], label))
    assert set(counts) >= (
        {"Webhook"} if filters.get("workflows") else {"Kafka", "Webhook", "Schedule", "Manual", "Other"}
    )


def test_latest_failed_executions(project, seeded):
    failed = [e for e in _executions(seeded) if e.status in FAILED]
    expected = sorted(failed, key=lambda e: (e.started_at, int(e.id)), reverse=True)[:20]
    result = _run(project, seeded, 7)
    assert [row[3] for row in result.rows] == [e.id for e in expected]
    for row, e in zip(result.rows, expected, strict=True):
        record = dict(zip(result.columns, row, strict=True))
        assert record["workflow"] == seeded.n8n.workflows[(e.instance, e.workflow_id)]
        assert (record["instance"], record["status"], record["trigger"]) == (
            e.instance,
            e.status,
            e.trigger_source,
        )
        assert record["duration_ms"] == e.duration_ms and as_utc(record["started"]) == e.started_at


def test_executions_by_workflow(project, seeded):
    groups = defaultdict(list)
    for e in _executions(seeded):
        groups[(seeded.n8n.workflows[(e.instance, e.workflow_id)], e.instance)].append(e)
    got = rows_by(_run(project, seeded, 8), "workflow", "instance")
    assert set(got) == set(groups)
    for key, executions in groups.items():
        assert got[key]["executions"] == len(executions)
        assert got[key]["failed"] == sum(e.status in FAILED for e in executions)
        durations = [e.duration_ms for e in executions if e.duration_ms is not None]
        assert got[key]["avg_ms"] == pytest.approx(sum(durations) / len(durations))


def test_variables_and_their_all_value(project, seeded):
    from smarter_obs.dashboards.query import build_context

    dashboard = project.dashboard(SLUG)
    values = {"instance": "n8n-staging"}
    context = build_context(
        project, dashboard, None, time_range=WEEK, variables=values, datasources=seeded.datasources
    )
    assert [c.value for c in context.options["instance"]] == sorted(seed.WORKFLOWS)
    workflows = context.options["workflow"]
    assert [(c.value, c.text) for c in workflows] == sorted(
        ((w, name) for w, (name, _t) in seed.WORKFLOWS["n8n-staging"].items()),
        key=lambda item: (item[1], item[0]),
    )
    # All is the literal '__all' the queries test for: no IN list of every workflow
    sql = panel_sql(project, SLUG, 1, time_range=WEEK).sql
    assert "('__all' IN ('__all') OR e.instance IN ('__all'))" in sql
    assert "e.started_at BETWEEN '2025-01-06T00:00:00Z' AND '2025-01-13T00:00:00Z'" in sql
    assert (
        "date_bin(interval '1 millisecond' * 600000, e.started_at, timestamptz '1970-01-01 00:00:00+00')"
        in sql
    )
