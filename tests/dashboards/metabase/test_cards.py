"""Every Metabase card's query, run as Metabase would on the seeded Supabase and Chatwoot databases, returns
exactly the numbers of an independent Python computation of its definition (tests/.../expected.py).

Each card runs for a fixed range (all tenants, one tenant by name or id; all inboxes, one inbox, one account)
and with no filter at all (no value = all). Floats (averages, medians) compare within 1e-9; everything
else (counts, numeric sums, rates computed as one division) exactly.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from smarter_obs.dashboards import load_project, run_query
from smarter_obs.dashboards.timerange import TimeRange
from tests.dashboards.metabase import expected
from tests.dashboards.metabase.expected import Range

PROJECT = Path(__file__).parents[3]
START, END = date(2025, 2, 3), date(2025, 3, 9)  # inside the 90 seeded days (from 2025-01-06)

CARDS = {
    "user-growth": {
        "Monthly active users": expected.monthly_active_users,
        "Churn rate": expected.churn_rate,
        "Onboarding completion": expected.onboarding_completion,
        "Daily signups": expected.daily_signups,
        "Daily active users": expected.daily_active_users,
    },
    "commerce-analytics": {
        "Conversion rate": expected.conversion_rate,
        "Average order value": expected.average_order_value,
        "Revenue per day": expected.revenue_per_day,
        "Products sold": expected.products_sold,
    },
    "messaging-support": {
        "Conversations per inbox": expected.conversations_per_inbox,
        "Agent activity": expected.agent_activity,
        "First response time": expected.first_response_time,
        "Resolution time": expected.resolution_time,
    },
}


@pytest.fixture(scope="module")
def project():
    return load_project(PROJECT)


@pytest.fixture(scope="module")
def datasources(supabase_dsn: str, chatwoot_dsn: str) -> dict[str, str]:
    return {"supabase": supabase_dsn, "chatwoot": chatwoot_dsn}


def _same(actual: list[list], wanted: list[tuple]) -> bool:
    if len(actual) != len(wanted):
        return False
    for got, want in zip(actual, wanted, strict=True):
        if len(got) != len(want):
            return False
        for a, b in zip(got, want, strict=True):
            if isinstance(b, float) and isinstance(a, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                    return False
            elif a != b:
                return False
    return True


def _scenarios(slug: str, business_data, chatwoot_data) -> list[tuple[str, Range, dict, bool]]:
    """(id, expected range, --var values, range given) for one dashboard."""
    if slug == "messaging-support":
        account = chatwoot_data.accounts[1].name
        return [
            ("range", Range(START, END), {}, True),
            ("range+inbox", Range(START, END, inbox="WhatsApp Soporte"), {"inbox": "WhatsApp Soporte"}, True),
            ("range+account", Range(START, END, account=account), {"account": account}, True),
            ("no-filter", Range(), {}, False),
        ]
    tenant = business_data.tenants[0]  # the one selling in two currencies
    return [
        ("range", Range(START, END), {}, True),
        ("range+tenant-name", Range(START, END, tenant=tenant.name), {"tenant": tenant.name}, True),
        (
            "range+tenant-id",
            Range(START, END, tenant=business_data.tenants[1].id),
            {"tenant": business_data.tenants[1].id},
            True,
        ),  # fmt: skip
        ("no-filter", Range(), {}, False),
    ]


@pytest.mark.parametrize(
    ("slug", "title"), [(slug, title) for slug, cards in CARDS.items() for title in cards], ids=lambda v: v
)
def test_card_equals_its_definition(project, datasources, business_data, chatwoot_data, slug, title) -> None:
    dashboard = project.dashboard(slug)
    panel = dashboard.panel(title)
    data = chatwoot_data if dashboard.datasource == "chatwoot" else business_data
    compute = CARDS[slug][title]
    for name, wanted_range, variables, ranged in _scenarios(slug, business_data, chatwoot_data):
        result = run_query(
            project,
            dashboard,
            panel,
            time_range=TimeRange.parse(START.isoformat(), END.isoformat()) if ranged else None,
            variables=variables,
            datasources=datasources,
        )
        assert result.columns == list(panel.columns), name
        wanted = compute(data, wanted_range)
        assert _same(result.rows, wanted), f"{slug} › {title} [{name}]: {result.rows[:5]} != {wanted[:5]}"
        if name == "range":
            assert wanted and any(any(v not in (0, None) for v in row) for row in wanted)  # not vacuous


def test_filters_change_the_numbers(project, datasources, business_data) -> None:
    """The tenant filter really narrows (guards against a clause that is always dropped)."""
    every = run_query(project, "commerce-analytics", "Products sold", datasources=datasources)
    one = run_query(
        project, "commerce-analytics", "Products sold", datasources=datasources,
        variables={"tenant": business_data.tenants[2].name},
    )  # fmt: skip
    assert 0 < len(one.rows) < len(every.rows)
    revenue = run_query(
        project, "commerce-analytics", "Revenue per day", datasources=datasources,
        variables={"tenant": business_data.tenants[0].name},
        time_range=TimeRange.parse(START.isoformat(), END.isoformat()),
    )  # fmt: skip
    assert {row[1] for row in revenue.rows} == {"CLP", "USD"}  # per currency when a tenant sells in several


def test_query_command_runs_a_card_as_metabase_would(supabase_dsn: str, business_data) -> None:
    from smarter_obs.cli import cli

    tenant = business_data.tenants[0].name
    args = ["query", "user-growth", "4", "--project", str(PROJECT)]
    args += ["--from", START.isoformat(), "--to", END.isoformat(), "--var", f"tenant={tenant}"]
    args += ["--datasource", f"supabase={supabase_dsn}"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    wanted = expected.daily_signups(business_data, Range(START, END, tenant=tenant))
    assert payload == {"columns": ["day", "signups"], "rows": [[d.isoformat(), n] for d, n in wanted]}

    shown = CliRunner().invoke(cli, [*args, "--sql"])
    assert shown.exit_code == 0, shown.output
    sql = shown.stdout
    assert f"DATE '{START.isoformat()}'" in sql and f"DATE '{END.isoformat()}'" in sql
    assert (
        "'" + tenant.replace("'", "''") + "'" in sql
        and "%s" not in sql
        and "{{" not in sql
        and "[[" not in sql
    )


@pytest.mark.parametrize("title", ["Monthly active users", "Churn rate"])
def test_30_day_windows_end_at_the_range_end(project, datasources, business_data, title) -> None:
    """MAU and churn for range ends over five weeks: off-by-one-day windows would show on some of them."""
    from datetime import timedelta

    compute = CARDS["user-growth"][title]
    for k in range(0, 36, 1):
        end = END + timedelta(days=k - 20)
        result = run_query(
            project, "user-growth", title, datasources=datasources, variables={"end_date": end.isoformat()}
        )
        assert _same(result.rows, compute(business_data, Range(end=end))), (title, end)
