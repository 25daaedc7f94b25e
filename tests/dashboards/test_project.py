"""Finding and loading a project; definition mistakes name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from smarter_obs.dashboards import (
    Dashboard,
    DefinitionError,
    Layout,
    Panel,
    ProjectNotFoundError,
    UnknownObjectError,
    Variable,
    find_project,
    load_project,
)
from tests.dashboards.conftest import REPO


def make_project(root: Path, modules: dict[str, str]) -> Path:
    (root / "dashboards").mkdir(parents=True)
    (root / "queries").mkdir()
    for name, text in modules.items():
        (root / "dashboards" / name).write_text(text)
    return root


GOOD = """
from smarter_obs.dashboards import Dashboard, Panel
dashboard = Dashboard(slug="{slug}", title="T", target="grafana", datasource="clickhouse",
                      panels=[Panel(id=1, title="P", sql="p.sql")])
"""


def test_found_from_any_folder_below_like_git(tmp_path, monkeypatch):
    root = make_project(tmp_path / "repo", {"a.py": GOOD.format(slug="a")})
    deep = root / "queries" / "x" / "y"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_project() == root
    assert [d.slug for d in load_project().dashboards] == ["a"]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ProjectNotFoundError, match="no smarter-obs project at or above .* or pass --project DIR"
    ):
        find_project()
    with pytest.raises(ProjectNotFoundError, match="has no dashboards/ and no queries/ folder"):
        find_project(tmp_path)
    monkeypatch.setenv("SMARTER_OBS_PROJECT", str(root))
    assert find_project() == root


def test_the_repository_is_a_project_with_the_three_grafana_dashboards():
    project = load_project(REPO)
    grafana = {d.slug: d.title for d in project.for_target("grafana")}
    assert grafana == {
        "mcp-tools": "MCP Tool Execution",
        "event-stream": "Event Stream Flow",
        "n8n-automations": "N8N Automations",
    }
    for dashboard in project.dashboards:
        assert len(dashboard.uid) <= 40 and dashboard.source is not None
    titles = {p.title for p in project.dashboard("mcp-tools").panels}
    assert {
        "Tool latency p50 / p95 / p99",
        "Error rate per tool",
        "Tool calls per minute",
        "Top 10 tools",
    } <= titles
    titles = {p.title for p in project.dashboard("event-stream").panels}
    assert {"Messages per topic", "Consumer lag", "Consumer lag in seconds", "Producer throughput"} <= titles
    titles = {p.title for p in project.dashboard("n8n-automations").panels}
    assert {"Executions", "Success vs error", "Execution duration", "Trigger source"} <= titles
    assert [v.name for v in project.dashboard("event-stream").variables] == [
        "cluster",
        "family",
        "topic",
        "consumer_group",
    ]


def test_a_failing_definition_names_file_and_line(tmp_path):
    root = make_project(
        tmp_path, {"a.py": GOOD.format(slug="a"), "b.py": "x = 1\nraise RuntimeError('boom')\n"}
    )
    with pytest.raises(DefinitionError, match=r"dashboards/b\.py:2: RuntimeError: boom"):
        load_project(root)
    (root / "dashboards" / "b.py").write_text("dashboard = Dashboard(\n")
    with pytest.raises(DefinitionError, match=r"dashboards/b\.py:1: "):
        load_project(root)
    (root / "dashboards" / "b.py").write_text("x = 1\n")
    with pytest.raises(
        DefinitionError, match=r"b\.py: defines no dashboard; assign `dashboard = Dashboard\(...\)`"
    ):
        load_project(root)
    (root / "dashboards" / "b.py").write_text(GOOD.format(slug="a"))
    with pytest.raises(DefinitionError, match="slug 'a' is already defined in"):
        load_project(root)
    (root / "dashboards" / "b.py").write_text(GOOD.format(slug="Bad Slug"))
    with pytest.raises(DefinitionError, match=r"b\.py:3: dashboard slug 'Bad Slug' must be lowercase"):
        load_project(root)
    (root / "dashboards" / "_helpers.py").write_text("raise RuntimeError('not a dashboard')\n")
    (root / "dashboards" / "b.py").unlink()
    assert [d.slug for d in load_project(root).dashboards] == ["a"]  # _files are not definitions


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Panel(id=0, title="x", sql=None), "id must be a positive integer"),
        (lambda: Panel(id=1, title="x", sql=None, kind="pie"), "kind 'pie' is not one of"),
        (lambda: Layout(x=20, y=0, w=6, h=4), "does not fit the 24-column grid"),
        (lambda: Variable(name="__x", kind="custom", choices=["a"]), "must be an identifier"),
        (lambda: Variable(name="x"), "a query variable needs sql="),
        (lambda: Variable(name="x", kind="custom"), "needs choices"),
        (
            lambda: Dashboard(
                slug="s",
                title="t",
                target="kibana",
                datasource="clickhouse",
                panels=[Panel(id=1, title="p", sql=None)],
            ),
            "target 'kibana'",
        ),
        (
            lambda: Dashboard(
                slug="s",
                title="t",
                target="grafana",
                datasource="clickhouse",
                panels=[Panel(id=1, title="a", sql=None), Panel(id=1, title="b", sql=None)],
            ),
            "panel id 1 is used by 'a' and 'b'",
        ),
        (
            lambda: Dashboard(
                slug="s",
                title="t",
                target="grafana",
                datasource="clickhouse",
                uid="x" * 41,
                panels=[Panel(id=1, title="p", sql=None)],
            ),
            "1-40 letters",
        ),
        (
            lambda: Dashboard(slug="s", title="t", target="grafana", datasource="clickhouse", panels=[]),
            "has no panels",
        ),
    ],
)
def test_model_checks_its_definitions(build, message):
    with pytest.raises(DefinitionError, match=message):
        build()


def test_lookups_suggest_what_exists():
    project = load_project(REPO)
    with pytest.raises(
        UnknownObjectError, match="no dashboard 'mcp-tool' in .* \\(did you mean 'mcp-tools'\\?\\)"
    ):
        project.dashboard("mcp-tool")
    dashboard = project.dashboard("mcp-tools")
    assert dashboard.panel("4").title == dashboard.panel("Tool latency p50 / p95 / p99").title
    with pytest.raises(UnknownObjectError, match=r"has no panel '42'; panel ids: 1, 2, 3"):
        dashboard.panel(42)
    with pytest.raises(UnknownObjectError, match="did you mean 'Top 10 tools'"):
        dashboard.panel("Top 10 tool")
    with pytest.raises(UnknownObjectError, match="no variable 'tools' .*did you mean 'tool'"):
        dashboard.variable("tools")
    assert dashboard.summary()["panels"][0] == {"id": 1, "title": "Tool calls"}
