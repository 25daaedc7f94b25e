"""The library surface other parts build on: every public name resolves, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import smarter_obs.dashboards as dashboards


def test_every_public_name_resolves():
    assert len(set(dashboards.__all__)) == len(dashboards.__all__)
    for name in dashboards.__all__:
        assert getattr(dashboards, name) is not None, name


def test_importing_the_model_loads_nothing_heavy():
    code = (
        "import sys, smarter_obs, smarter_obs.dashboards, smarter_obs.cli;"
        "names = ('sqlglot', 'jinja2', 'grafana_foundation_sdk', 'clickhouse_connect', 'psycopg', 'chdb');"
        "print([m for m in names if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_dialects_and_compilers_are_found_by_name():
    from smarter_obs.dashboards.compile import compiler
    from smarter_obs.dashboards.errors import UnknownObjectError
    from smarter_obs.dashboards.sql import dialect_for, get_dialect

    assert dialect_for("grafana", "clickhouse").name == "clickhouse"
    assert dialect_for("grafana", "postgres").name == "grafana_postgres"
    assert get_dialect("clickhouse").engine == "clickhouse"
    assert compiler("grafana").compile_dashboard
    try:
        get_dialect("clickhose")
    except UnknownObjectError as exc:
        assert "did you mean 'clickhouse'" in str(exc)
    else:  # pragma: no cover - must raise
        raise AssertionError("unknown dialect accepted")
