"""``validate``: the project's queries are clean in every branch; injected mistakes are reported precisely
(dashboard › panel: file:line:column: message), located in the Jinja template."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smarter_obs.dashboards import load_project, validate
from tests.dashboards.conftest import REPO


@pytest.fixture
def copy(tmp_path: Path):
    """A copy of the repository's project (dashboards/ and queries/; the DDL comes from the package)."""
    for name in ("dashboards", "queries"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def edit(root: Path, relative: str, old: str, new: str) -> tuple[int, int]:
    """Replace ``old`` by ``new`` once; return the 1-based line and column where it starts."""
    path = root / relative
    text = path.read_text()
    assert text.count(old) >= 1, old
    offset = text.index(old)
    path.write_text(text.replace(old, new, 1))
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def messages(root: Path) -> list[str]:
    return [str(issue) for issue in validate(load_project(root))]


def test_the_project_is_valid_in_every_branch(project):
    assert validate(project) == []


def test_an_unknown_column_names_it_at_its_place(copy):
    line, column = edit(
        copy, "queries/clickhouse/mcp_tools/top_tools.sql", "ToolName AS tool", "ToolNam AS tool"
    )
    assert messages(copy) == [
        f"mcp-tools › Top 10 tools: queries/clickhouse/mcp_tools/top_tools.sql:{line}:{column}: "
        "unknown column ToolNam (did you mean 'ToolName'?)"
    ]


def test_a_syntax_error_is_located(copy):
    line, column = edit(
        copy,
        "queries/clickhouse/event_stream/throughput.sql",
        "GROUP BY time, topic",
        "GROUP BY time, topic)",
    )
    [issue] = validate(load_project(copy))
    assert (issue.dashboard, issue.panel, issue.file) == (
        "event-stream",
        "Producer throughput",
        "queries/clickhouse/event_stream/throughput.sql",
    )
    assert issue.line == line and issue.column == column + len("GROUP BY time, topic")
    assert issue.message.startswith("syntax error near ')'")


def test_a_missing_macro_argument(copy):
    line, column = edit(
        copy, "queries/clickhouse/mcp_tools/error_rate.sql", "$__timeFilter(Minute)", "$__timeFilter()"
    )
    assert messages(copy) == [
        f"mcp-tools › Error rate per tool: queries/clickhouse/mcp_tools/error_rate.sql:{line}:{column}: "
        "macro $__timeFilter expects 1 argument, received 0"
    ]


def test_postgres_unknown_macro_and_column(copy):
    file = "queries/postgres/n8n_automations/trigger_source.sql"
    line, column = edit(copy, file, "count(*) AS executions", "count(e.stat) AS executions")
    edit(
        copy,
        "queries/postgres/n8n_automations/executions.sql",
        "{{ time_bucket() }}",
        "$__timeGroupAlais(e.started_at, $__interval)",
    )
    found = messages(copy)
    assert (
        f"n8n-automations › Trigger source: {file}:{line}:{column + 8}: "
        "unknown column e.stat (did you mean 'status'?)" in found
    )
    executions = "n8n-automations › Executions: queries/postgres/n8n_automations/executions.sql:4:5: "
    assert any(m.startswith(executions + 'unknown macro "__timeGroupAlais"') for m in found)


def test_unknown_table_and_unknown_variable(copy):
    edit(
        copy,
        "queries/clickhouse/event_stream/clusters.sql",
        "FROM kafka_partition_offsets",
        "FROM kafka_partition_offset",
    )
    edit(
        copy, "queries/clickhouse/event_stream/groups.sql", "${cluster:singlequote}", "${clustr:singlequote}"
    )
    found = messages(copy)
    table = "variable cluster: queries/clickhouse/event_stream/clusters.sql:3:6: unknown table "
    assert any(
        table + "kafka_partition_offset (did you mean 'kafka_partition_offsets'?)" in m for m in found
    ), found
    assert any(
        "variable consumer_group:" in m and "unknown variable $clustr (did you mean 'cluster'?)" in m
        for m in found
    )


def test_an_error_only_some_branches_have_says_which(copy):
    # `= ${tool:singlequote}` is fine for one value and broken for several
    edit(
        copy,
        "queries/clickhouse/mcp_tools/totals.sql",
        "WHERE {{ mcp_filters() }}",
        "WHERE ToolName = ${tool:singlequote} AND {{ mcp_filters() }}",
    )
    found = messages(copy)
    assert len(found) == 2 and all(
        m.endswith("(when tool='whatsapp_send', 'shopify_order_lookup' or tool=All)") for m in found
    ), found


def test_jinja_errors_name_the_template_line(copy):
    line, _ = edit(
        copy,
        "queries/clickhouse/mcp_tools/totals.sql",
        "FROM {{ mcp_range_source() }}",
        "FROM {{ table_name }}",
    )
    edit(copy, "queries/clickhouse/mcp_tools/services.sql", "ORDER BY ServiceName", "{% if %}")
    found = messages(copy)
    totals = f"mcp-tools › Tool calls: queries/clickhouse/mcp_tools/totals.sql:{line}:1: Jinja:"
    assert any(m.startswith(totals) and "table_name" in m for m in found), found
    assert any(
        "variable service: queries/clickhouse/mcp_tools/services.sql:5:1: Jinja:" in m for m in found
    ), found


def test_a_mistake_in_a_shared_macro_points_at_its_use(copy):
    edit(
        copy,
        "queries/clickhouse/_macros.sql",
        "ServiceName IN (${service:singlequote})",
        "ServiceNme IN (${service:singlequote})",
    )
    found = messages(copy)
    # every panel using the macro, at the line calling it; not when service is All ($__conditionalAll → 1=1)
    assert len(found) == 6, found
    assert all(
        m.endswith("unknown column ServiceNme (did you mean 'ServiceName'?) (when service is not All)")
        for m in found
    )
    lines = (copy / "queries/clickhouse/mcp_tools/top_tools.sql").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "mcp_filters()" in text and "{{" in text)
    column = lines[line - 1].index("{{") + 1
    assert any(
        m.startswith(f"mcp-tools › Top 10 tools: queries/clickhouse/mcp_tools/top_tools.sql:{line}:{column}:")
        for m in found
    ), found


def test_clickhouse_syntax_the_panels_use_parses(copy):
    (copy / "queries/clickhouse/mcp_tools/syntax.sql").write_text(
        "SELECT ToolName, quantilesTDigestMerge(0.5, 0.9)(DurationQuantiles)[1] AS p50,\n"
        "       sumMerge(s) AS calls,\n"
        "       countIf(StatusCode = 'Error') AS e\n"
        "FROM (SELECT ToolName, DurationQuantiles, sumState(Calls) AS s, '' AS StatusCode\n"
        "      FROM mcp_tool_calls_1m FINAL PREWHERE $__timeFilter(Minute)\n"
        "      GROUP BY ToolName, DurationQuantiles\n"
        "      ORDER BY ToolName LIMIT 1 BY ToolName)\n"
        "GROUP BY ToolName\n"
        "UNION ALL\n"
        "SELECT ev, 0, 0, 0 FROM otel_traces ARRAY JOIN Events.Name AS ev\n"
        "WHERE SpanAttributes['gen_ai.tool.name'] != '' AND ResourceAttributes['service.name'] = '${kind}'\n"
        "SETTINGS max_threads = 2, optimize_read_in_order = 1\n"
    )
    edit(
        copy, "dashboards/mcp_tools.py", "panels=[", 'panels=[Panel(id=99, title="Syntax", sql="syntax.sql"),'
    )
    assert messages(copy) == []


def test_definition_problems_are_issues_too(copy):
    edit(copy, "dashboards/mcp_tools.py", 'sql="totals.sql"', 'sql="total.sql"')
    edit(copy, "dashboards/event_stream.py", 'sql="lag.sql"', 'sql="lag.sql", datasource="supabas"')
    found = messages(copy)
    missing = "SQL file queries/clickhouse/mcp_tools/total.sql does not exist"
    assert f"mcp-tools › Tool calls: dashboards/mcp_tools.py: {missing}" in found
    assert any(
        "Consumer lag:" in m and "unknown datasource 'supabas' (did you mean 'supabase'?)" in m for m in found
    )
