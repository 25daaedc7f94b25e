"""``smarter-obs validate | build | list | query`` as a user runs them: output, exit codes, errors."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from smarter_obs.cli import main
from tests.dashboards import seed
from tests.dashboards.conftest import REPO, SEED_DATABASE


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO / "queries")  # found from a folder below the project root
    monkeypatch.delenv("SMARTER_OBS_PROJECT", raising=False)


def no_traceback(err: str) -> bool:
    """No traceback through smarter-obs code (other tests' server threads may print their own)."""
    return not re.search(r'File ".*smarter_obs/', err)


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_has_help(capsys):
    for command in ("validate", "build", "list", "query"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "--project DIR" in out, command
    code, out, _ = run(capsys, "query", "-h")
    assert "DASHBOARD is a slug and PANEL a panel id" in out and "--sql" in out and "--var NAME=VALUE" in out


def test_list_json_is_every_dashboard_with_its_panels(capsys, in_repo, project):
    code, out, _ = run(capsys, "list", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    assert listed == [d.summary() for d in project.dashboards]
    assert set(listed[0]) == {"slug", "title", "target", "panels"} and set(listed[0]["panels"][0]) == {
        "id",
        "title",
    }
    code, out, _ = run(capsys, "list")
    assert code == 0 and "mcp-tools  [grafana, clickhouse]  MCP Tool Execution" in out


def test_validate_exit_codes_and_messages(capsys, in_repo, tmp_path):
    code, out, err = run(capsys, "validate")
    assert (code, out) == (0, "") and err.startswith("ok: 6 dashboards")
    for name in ("dashboards", "queries"):
        shutil.copytree(REPO / name, tmp_path / name)
    sql = tmp_path / "queries/clickhouse/event_stream/messages.sql"
    sql.write_text(sql.read_text().replace("sum(messages)", "sum(mesages)"))
    code, out, err = run(capsys, "validate", "--project", str(tmp_path))
    assert code == 1 and no_traceback(err)
    assert out.startswith(
        "event-stream › Messages per topic: queries/clickhouse/event_stream/messages.sql:7:9: "
        "unknown column mesages"
    )
    assert "1 problem in 6 dashboards" in err
    code, out, _ = run(capsys, "validate", "--project", str(tmp_path), "--format", "json")
    [issue] = json.loads(out)
    assert (issue["dashboard"], issue["panel_id"], issue["line"], issue["column"]) == (
        "event-stream",
        1,
        7,
        9,
    )
    code, out, err = run(capsys, "build", "--project", str(tmp_path))
    assert code == 1 and "not built: 1 problem(s)" in err and not (tmp_path / "build").exists()


def test_query_sql_prints_what_would_run(capsys, in_repo):
    code, out, err = run(capsys, "query", "mcp-tools", "4", "--from", "2025-01-06", "--to", "2025-01-07",
                         "--var", "tool=whatsapp_send", "--var", "tool=faq_search", "--sql")  # fmt: skip
    assert code == 0, err
    assert "toStartOfInterval(toDateTime(Minute), INTERVAL 300 second) AS time" in out
    assert "Minute >= toDateTime(1736121600) AND Minute <= toDateTime(1736208000)" in out
    assert (
        "ToolName IN ('whatsapp_send','faq_search')" in out and "SpanKind = 'Server'" in out and "1=1" in out
    )
    assert "interval 5m" in err


def test_query_runs_on_the_seeded_data(capsys, in_repo, seeded, monkeypatch):
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_DATABASE", SEED_DATABASE)
    url = seeded.datasources["clickhouse"].url
    window = ["--from", seed.SPAN_START.isoformat(), "--to", "2025-01-07T00:00:00Z"]
    code, out, err = run(
        capsys, "query", "mcp-tools", "1", "--datasource", f"clickhouse={url}", *window, "--format", "json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["columns"] == ["calls", "errors", "error_rate"]
    assert result["rows"][0][0] == sum(1 for c in seeded.spans.calls if c.kind == "Server")
    supabase = f"supabase={seeded.datasources['supabase']}"
    code, out, err = run(
        capsys, "query", "n8n-automations", "5", "--datasource", supabase, "--from", "2025-01-06"
    )
    assert code == 0, err
    header, rule, *rows = out.splitlines()
    assert header.split() == ["trigger", "executions"] and set(rule) == {"-", " "}
    assert sum(int(line.split()[-1]) for line in rows) == len(seeded.n8n.executions)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "mcp-tool", "1"], "error: no dashboard 'mcp-tool' in"),
        (["query", "mcp-tools", "99"], "error: dashboard 'mcp-tools' has no panel '99'; panel ids: 1, 2, 3"),
        (
            ["query", "mcp-tools", "1", "--var", "tols=x"],
            "error: dashboard 'mcp-tools' has no variable 'tols' (did you mean 'tool'?)",
        ),
        (
            ["query", "mcp-tools", "1", "--var", "kind=Server", "--var", "kind=Client"],
            "variable 'kind' of 'mcp-tools' takes one value",
        ),
        (
            ["query", "mcp-tools", "1", "--from", "yesterday"],
            "error: 'yesterday' is not a time: use ISO-8601",
        ),
        (
            ["query", "mcp-tools", "1", "--datasource", "clickhous=chdb:///x"],
            "error: unknown datasource 'clickhous' (did you mean 'clickhouse'?)",
        ),
        (["query", "mcp-tools", "1", "--var", "novalue"], "'novalue' is not NAME=VALUE"),
    ],
)
def test_query_mistakes_are_one_line(capsys, in_repo, args, message):
    code, _, err = run(capsys, *args)
    assert code in (1, 2) and message in err and no_traceback(err)


def test_outside_a_project(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SMARTER_OBS_PROJECT", raising=False)
    code, _, err = run(capsys, "list")
    assert code == 1 and "no smarter-obs project at or above" in err
