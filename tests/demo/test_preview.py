"""The preview page: self-contained, safe, and drawn by the browser (every panel, no request leaves it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from smarter_obs.preview.model import DashboardView, Layout, PanelView, json_value
from smarter_obs.preview.render import ECHARTS_SHA256, ECHARTS_VERSION, render_page, write_page
from tests.demo.browser import chromium, inspect_page

T0 = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"


def _views() -> list[DashboardView]:
    series = [[T0 + dt.timedelta(minutes=10 * i), tool, 100.0 + i] for i in range(30) for tool in ("a", "b")]
    grafana = DashboardView(
        "mcp",
        "MCP Tool Execution",
        "grafana",
        [
            PanelView(
                "1", "Latency", "timeseries", Layout(0, 0, 12, 8), "SELECT 1", ["t", "tool", "p95"], series
            ),
            PanelView("2", "Calls", "stat", Layout(12, 0, 6, 8), "SELECT 2", ["calls"], [[42]]),
            PanelView(
                "3", "Share", "pie", Layout(18, 0, 6, 8), "SELECT 3", ["tool", "n"], [["a", 1], ["b", 3]]
            ),
            PanelView("4", "Top", "table", Layout(0, 8, 12, 6), "SELECT 4", ["tool", "n"], [["a", 1]]),
            PanelView(
                "5", "Bars", "bar", Layout(12, 8, 12, 6), "SELECT 5 -- </script>", ["tool", "n"], [["a", 2]]
            ),
        ],
    )
    metabase = DashboardView(
        "commerce",
        "Commerce",
        "metabase",
        [
            PanelView(
                "1", "Revenue", "timeseries", Layout(0, 0, 24, 6), "SELECT r", ["day", "revenue"],
                [[dt.date(2026, 11, d), 1000.0 * d] for d in range(1, 20)], unit="currency",
            ),
        ],
        row_height=44,
    )  # fmt: skip
    return [grafana, metabase]


def test_the_page_carries_everything_and_may_fetch_nothing(tmp_path: Path) -> None:
    page = render_page(_views())
    assert "default-src 'none'" in page  # the browser refuses any request the page would make
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    data = json.loads(
        re.search(r'<script id="preview-data" type="application/json">(.*?)</script>', page, re.S)[1]
    )
    assert [d["slug"] for d in data["dashboards"]] == ["mcp", "commerce"]
    assert (
        data["dashboards"][0]["panels"][4]["sql"] == "SELECT 5 -- </script>"
    )  # escaped, not closing the tag
    assert data["dashboards"][1]["panels"][0]["rows"][0] == ["2026-11-01", 1000.0]
    written = write_page(tmp_path / "out" / "index.html", _views())
    assert written.read_text() and not list(written.parent.glob("*.partial"))


def test_the_vendored_echarts_is_the_pinned_release_with_its_licences() -> None:
    vendor = resources.files("smarter_obs.preview").joinpath("assets", "vendor")
    script = vendor.joinpath("echarts.common.min.js").read_bytes()
    assert hashlib.sha256(script).hexdigest() == ECHARTS_SHA256
    assert f"echarts@{ECHARTS_VERSION}" in vendor.joinpath("README.md").read_text()
    assert "Apache License" in vendor.joinpath("LICENSE-echarts").read_text()
    assert vendor.joinpath("NOTICE-echarts").read_text().startswith("Apache ECharts")


def test_values_become_json() -> None:
    import decimal

    assert json_value(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2026-01-02T03:04:05.000Z"
    assert json_value(decimal.Decimal("12.50")) == 12.5
    assert json_value(float("nan")) is None
    assert json_value(dt.timedelta(seconds=90)) == 90.0


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind 'sparkle'"):
        PanelView("1", "x", "sparkle", Layout(0, 0, 1, 1))


@pytest.fixture(scope="module")
def browser() -> str:
    path = chromium()
    if path is None:
        pytest.skip("no chromium on this machine (apt-get install -y chromium; .ci/run installs it)")
    return path


def test_the_browser_draws_every_panel_and_shows_errors(browser: str, tmp_path: Path) -> None:
    views = _views()
    views[1].panels.append(PanelView("2", "Empty", "bar", Layout(0, 6, 12, 4), "SELECT e", ["a", "b"], []))
    views[1].panels.append(
        PanelView("3", "Broken", "bar", Layout(12, 6, 12, 4), "SELECT b", error="Code: 47")
    )
    page = write_page(tmp_path / "index.html", views)
    report = inspect_page(page, ARTIFACTS / "preview-synthetic.png")
    assert report.requests == [] and report.console_errors == []
    assert report.panels == {
        "mcp/1": "drawn", "mcp/2": "drawn", "mcp/3": "drawn", "mcp/4": "drawn", "mcp/5": "drawn",
        "commerce/1": "drawn", "commerce/2": "empty", "commerce/3": "error",
    }  # fmt: skip
    assert report.blank_charts == []
    assert report.sql_shown == "SELECT 1"
    assert (ARTIFACTS / "preview-synthetic.png").stat().st_size > 10_000


def test_preview_refuses_a_malformed_datasource(capsys: pytest.CaptureFixture[str]) -> None:
    from smarter_obs.cli import main

    assert main(["preview", "--datasource", "clickhouse"]) == 1
    err = capsys.readouterr().err
    assert "--datasource 'clickhouse': use NAME=URL" in err and "Traceback" not in err


def test_preview_help() -> None:
    from click.testing import CliRunner

    from smarter_obs.cli import cli

    result = CliRunner().invoke(cli, ["preview", "--help"])
    assert result.exit_code == 0
    for option in ("--datasource", "--from", "--to", "--output", "--project"):
        assert option in result.output
