"""MCP Tool Execution: every panel's query on the seeded spans equals an independent Python computation."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from smarter_obs.dashboards import run_query
from smarter_obs.dashboards.query import panel_sql
from smarter_obs.dashboards.timerange import TimeRange
from tests.dashboards import seed
from tests.dashboards.expect import as_utc, assert_shape, bucket, rows_by, within_quantile

SLUG = "mcp-tools"
DAY = TimeRange.parse(seed.SPAN_START, seed.SPAN_START + timedelta(hours=24))


def _calls(seeded, *, kind="Server", services=None, tools=None, time_range=DAY):
    return [
        c
        for c in seeded.spans.calls
        if c.kind == kind
        and (services is None or c.service in services)
        and (tools is None or c.tool in tools)
        and time_range.start <= c.start.replace(second=0, microsecond=0) <= time_range.end
    ]


def _run(project, seeded, panel, variables=None, time_range=DAY):
    result = run_query(
        project, SLUG, panel, time_range=time_range, variables=variables, datasources=seeded.datasources
    )
    assert_shape(project.dashboard(SLUG).panel(panel), result)
    return result


def test_every_panel_has_the_shape_it_draws_and_data(project, seeded):
    for panel in project.dashboard(SLUG).panels:
        result = _run(project, seeded, panel.id)
        assert result.rows, f"panel {panel.title!r} returned no rows"


def test_the_interval_is_the_one_grafana_picks_with_the_minute_minimum(project, seeded):
    # 24 h over the panel's 240 data points: 360 s, rounded to 5 m; read from the 5-minute rollup
    rendered = panel_sql(project, SLUG, 4, time_range=DAY)
    assert rendered.context.interval.text == "5m"
    assert "WHERE 300 % 300 = 0 AND 300 % 3600 != 0" in rendered.sql
    # 1 h: 15 s, raised to the panel's 1 m minimum so a bucket never splits a minute
    hour = TimeRange.parse(seed.SPAN_START, seed.SPAN_START + timedelta(hours=1))
    rendered = panel_sql(project, SLUG, 4, time_range=hour)
    assert rendered.context.interval.ms == 60_000
    assert "INTERVAL 60 second" in rendered.sql
    # the raw-span table has no minimum and no max data points: 1 h over 24 columns is 1.875 s → 2 s
    assert panel_sql(project, SLUG, 7, time_range=hour).context.interval.text == "2s"


@pytest.mark.parametrize(
    ("variables", "filters"),
    [
        (None, {}),
        ({"service": "crm-mcp"}, {"services": {"crm-mcp"}}),
        (
            {"tool": ["faq_search", "ticket_create"], "kind": "Client"},
            {"tools": {"faq_search", "ticket_create"}, "kind": "Client"},
        ),
        ({"kind": "Internal"}, {"kind": "Internal"}),
    ],
)
def test_top_10_tools_calls_error_rate_and_p95(project, seeded, variables, filters):
    result = _run(project, seeded, 3, variables)
    per_tool = defaultdict(list)
    for call in _calls(seeded, **filters):
        per_tool[call.tool].append(call)
    expected = sorted(per_tool, key=lambda tool: (-len(per_tool[tool]), tool))[:10]
    assert [row[0] for row in result.rows] == expected
    for tool, row in rows_by(result, "tool").items():
        calls = per_tool[tool]
        assert row["calls"] == len(calls)
        assert row["error_rate"] == pytest.approx(sum(c.error for c in calls) / len(calls))
        assert within_quantile([c.duration_ms for c in calls], 0.95, row["p95_ms"]), (tool, row["p95_ms"])


def test_totals_stat_panels(project, seeded):
    calls = _calls(seeded)
    for panel, column, value in (
        (1, "calls", len(calls)),
        (2, "error_rate", sum(c.error for c in calls) / len(calls)),
    ):
        result = _run(project, seeded, panel)
        assert dict(zip(result.columns, result.rows[0], strict=True))[column] == pytest.approx(value)


def _per_bucket(calls, seconds=120):
    groups = defaultdict(list)
    for call in calls:
        groups[(bucket(call.start, seconds), call.tool)].append(call)
    return groups


@pytest.mark.parametrize(("hours", "minutes"), [(24, 5), (6, 2), (240, 60)])
def test_tool_calls_per_minute(project, seeded, hours, minutes):
    # 24 h: 5-minute buckets from the 5-minute rollup; 6 h: 2-minute ones from the minutes; 10 days:
    # hourly buckets from the hourly rollup
    time_range = TimeRange.parse(seed.SPAN_START, seed.SPAN_START + timedelta(hours=hours))
    assert panel_sql(project, SLUG, 6, time_range=time_range).context.interval.ms == minutes * 60_000
    result = _run(project, seeded, 6, time_range=time_range)
    expected = _per_bucket(_calls(seeded, time_range=time_range), minutes * 60)
    got = rows_by(result, "time", "tool")
    assert set(got) == set(expected)
    for key, calls in expected.items():
        assert got[key]["calls_per_minute"] == pytest.approx(len(calls) / minutes)


def test_error_rate_per_tool_over_time(project, seeded):
    result = _run(project, seeded, 5, {"service": "smarteros-mcp"})
    expected = _per_bucket(_calls(seeded, services={"smarteros-mcp"}), 300)
    got = rows_by(result, "time", "tool")
    assert set(got) == set(expected)
    for key, calls in expected.items():
        assert got[key]["error_rate"] == pytest.approx(sum(c.error for c in calls) / len(calls))


def test_latency_quantiles_per_tool_within_tdigest_error(project, seeded):
    # six hours, so buckets hold enough calls for quantiles to mean something (240 points: 90 s → 2 m)
    six = TimeRange.parse(seed.SPAN_START, seed.SPAN_START + timedelta(hours=6))
    result = _run(project, seeded, 4, {"tool": ["whatsapp_send", "thread_summary"]}, time_range=six)
    expected = _per_bucket(_calls(seeded, tools={"whatsapp_send", "thread_summary"}, time_range=six), 120)
    got = rows_by(result, "time", "tool")
    assert set(got) == set(expected)
    for key, calls in expected.items():
        durations = [c.duration_ms for c in calls]
        for q, column in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
            assert within_quantile(durations, q, got[key][column], tolerance=0.05), (key, column, durations)
    # over the whole day the merged digests stay within 2 % of rank
    whole = _run(project, seeded, 3)
    for tool, row in rows_by(whole, "tool").items():
        assert within_quantile(
            [c.duration_ms for c in _calls(seeded, tools={tool})], 0.95, row["p95_ms"], 0.02
        )


def test_slowest_calls_come_from_the_raw_spans_with_trace_ids(project, seeded):
    result = _run(project, seeded, 7, {"service": "smarteros-mcp"})
    # the raw table filters on the span start itself, not its minute
    calls = [c for c in seeded.spans.calls if c.kind == "Server" and c.service == "smarteros-mcp"]
    expected = sorted(calls, key=lambda c: (-c.duration_ns, -c.start.timestamp()))[:20]
    assert len(result.rows) == 20
    for row, call in zip(result.rows, expected, strict=True):
        record = dict(zip(result.columns, row, strict=True))
        assert record["trace_id"] == call.trace_id and record["span_id"] == call.span_id
        assert (record["service"], record["tool"], record["status"]) == (call.service, call.tool, call.status)
        assert record["duration_ms"] == pytest.approx(call.duration_ms)
        assert as_utc(record["time"]) == call.start
        assert record["message"] == call.message


def test_variable_options_come_from_their_queries(project, seeded):
    from smarter_obs.dashboards.query import build_context

    dashboard = project.dashboard(SLUG)
    context = build_context(project, dashboard, None, time_range=DAY, variables={"service": "crm-mcp"},
                            datasources=seeded.datasources)  # fmt: skip
    services = {c.service for c in seeded.spans.calls}
    assert [c.value for c in context.options["service"]] == sorted(services)
    assert [c.value for c in context.options["tool"]] == sorted(
        {c.tool for c in seeded.spans.calls if c.service == "crm-mcp"}
    )


def test_all_without_conditional_all_expands_to_every_option(project, seeded):
    # tool=All inside $__conditionalAll is 1=1; written as IN (${tool:singlequote}) it is every option
    from smarter_obs.dashboards.query import build_context
    from smarter_obs.dashboards.sql import get_dialect

    dashboard = project.dashboard(SLUG)
    context = build_context(project, dashboard, None, time_range=DAY, datasources=seeded.datasources)
    expanded = get_dialect("clickhouse").expand(
        "SELECT 1 WHERE ToolName IN (${tool:singlequote}) AND $__conditionalAll(x, $tool)", context
    )
    tools = sorted({c.tool for c in seeded.spans.calls})
    assert expanded.text == "SELECT 1 WHERE ToolName IN (" + ",".join(f"'{t}'" for t in tools) + ") AND 1=1"


@pytest.mark.parametrize(
    ("start", "end"),
    [((0, 30), (23, 15)), ((5, 59), (6, 1)), ((7, 0), (7, 58)), ((7, 0), (9, 0))],
)
def test_whole_range_panels_combine_hours_and_edge_minutes(project, seeded, start, end):
    # whole hours from the hourly rollup, the minutes around them from mcp_tool_calls_1m: exactly the
    # minutes from..to, whatever the alignment
    time_range = TimeRange.parse(
        seed.SPAN_START + timedelta(hours=start[0], minutes=start[1]),
        seed.SPAN_START + timedelta(hours=end[0], minutes=end[1]),
    )
    calls = _calls(seeded, time_range=time_range)
    totals = _run(project, seeded, 1, time_range=time_range)
    assert totals.rows[0][:2] == [len(calls), sum(c.error for c in calls)]
    per_tool = defaultdict(list)
    for call in calls:
        per_tool[call.tool].append(call)
    for tool, row in rows_by(_run(project, seeded, 3, time_range=time_range), "tool").items():
        assert row["calls"] == len(per_tool[tool])
        assert within_quantile([c.duration_ms for c in per_tool[tool]], 0.95, row["p95_ms"], 0.05)
