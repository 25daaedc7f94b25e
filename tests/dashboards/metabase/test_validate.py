"""``validate`` on the Metabase dashboards: clean as shipped, and precise about what breaks them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from smarter_obs.dashboards import validate

PROJECT = Path(__file__).parents[3]
METABASE = ("user-growth", "commerce-analytics", "messaging-support")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's definitions, queries and DDL to break."""
    for folder in ("dashboards", "queries", "provisioning"):
        shutil.copytree(PROJECT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_metabase_dashboards_validate_clean_in_every_branch() -> None:
    assert validate(PROJECT, dashboards=METABASE) == []


def test_an_unknown_chatwoot_column_is_reported_precisely(project: Path) -> None:
    sql = project / "queries/postgres/support/agent_activity.sql"
    _edit(sql, "      AND NOT m.private\n", "      AND NOT m.is_private\n")
    issues = validate(project, dashboards=["messaging-support"])
    assert [str(i) for i in issues] == [
        "messaging-support › Agent activity: queries/postgres/support/agent_activity.sql:8:17: "
        "unknown column m.is_private (did you mean 'private'?)"
    ]
    lines = sql.read_text().splitlines()
    assert lines[7][16:].startswith("is_private")  # line 8, column 17 is the unknown name


def test_a_column_chatwoot_does_not_have_is_unknown_even_if_plausible(project: Path) -> None:
    # Chatwoot's conversations have no `resolved_at`: resolution times live in reporting_events
    _edit(
        project / "queries/postgres/support/conversations_per_inbox.sql",
        "c.status = 1",
        "c.resolved_at IS NOT NULL",
    )
    (issue,) = validate(project, dashboards=["messaging-support"])
    assert issue.file == "queries/postgres/support/conversations_per_inbox.sql"
    assert (issue.line, issue.column) == (10, 30)
    assert issue.message.startswith("unknown column c.resolved_at")


def test_the_no_value_branch_is_checked_too(project: Path) -> None:
    """A tag outside an optional clause breaks the dashboard when its filter is empty."""
    _edit(
        project / "queries/postgres/commerce/conversion_rate.sql",
        '{{ mb.tenant_filter("tenant_id") }}',
        "AND tenant_id = {{tenant}}",
    )
    (issue,) = validate(project, dashboards=["commerce-analytics"])
    assert issue.panel == "Conversion rate" and (issue.line, issue.column) == (10, 19)
    assert "missing required parameters: tenant" in issue.message and "tenant=All)" in issue.message


def test_an_unknown_template_tag_names_the_dashboards_parameters(project: Path) -> None:
    _edit(project / "queries/postgres/user_growth/daily_signups.sql", '{{ mb.tenant_filter("tenant_id") }}',
          "[[AND tenant_id = {{tennant}}]]")  # fmt: skip
    (issue,) = validate(project, dashboards=["user-growth"])
    assert issue.message == (
        "unknown template tag {{tennant}}: the dashboard has no parameter 'tennant' (did you mean 'tenant'?)"
    )


def test_validate_command_exits_1_with_the_message(project: Path) -> None:
    from smarter_obs.cli import cli

    _edit(project / "queries/postgres/support/resolution_time.sql", "r.value", "r.duration")
    result = CliRunner().invoke(cli, ["validate", "--project", str(project)])
    assert result.exit_code == 1
    assert (
        "messaging-support › Resolution time: queries/postgres/support/resolution_time.sql:" in result.output
    )
    assert "unknown column r.duration" in result.output
