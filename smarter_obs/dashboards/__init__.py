"""Dashboards as code: definitions (``dashboards/*.py`` + ``queries/**.sql``) → validate → compile → publish.

The verbs (each takes the project as an object, a folder, or ``None`` = found from the working directory):

- :func:`load_project` / :func:`find_project`: every dashboard with its panels and variables.
- :func:`validate`: every query checked in every branch, without a database → ``list[Issue]``.
- :func:`compile_dashboard`: a dashboard → its target's JSON-ready payload (pure, no I/O).
- :func:`run_query`: run one panel's query as its dashboard would → ``QueryResult(columns, rows, sql)``;
  :func:`panel_sql` gives the SQL without running it.

The model (:class:`Dashboard`, :class:`Panel`, :class:`Variable`, :class:`Layout`, :class:`Choice`) is
plain data. Nothing heavy (sqlglot, jinja2, grafana-foundation-sdk, database drivers) is imported until a
verb needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from smarter_obs.dashboards.errors import (
    DashboardError,
    DefinitionError,
    ProjectNotFoundError,
    QueryExecutionError,
    QuerySyntaxError,
    UnknownObjectError,
)
from smarter_obs.dashboards.model import ALL, KINDS, TARGETS, Choice, Dashboard, Layout, Panel, Variable
from smarter_obs.dashboards.project import Project, find_project, load_project

if TYPE_CHECKING:
    from smarter_obs.dashboards.compile import compile_dashboard, compile_project
    from smarter_obs.dashboards.datasources import QueryResult
    from smarter_obs.dashboards.query import panel_sql, run_query
    from smarter_obs.dashboards.timerange import TimeRange
    from smarter_obs.dashboards.validate import Issue, validate

__all__ = [
    "ALL",
    "KINDS",
    "TARGETS",
    "Choice",
    "Dashboard",
    "DashboardError",
    "DefinitionError",
    "Issue",
    "Layout",
    "Panel",
    "Project",
    "ProjectNotFoundError",
    "QueryExecutionError",
    "QueryResult",
    "QuerySyntaxError",
    "TimeRange",
    "UnknownObjectError",
    "Variable",
    "compile_dashboard",
    "compile_project",
    "find_project",
    "load_project",
    "panel_sql",
    "run_query",
    "validate",
]

_LAZY = {
    "Issue": "smarter_obs.dashboards.validate",
    "validate": "smarter_obs.dashboards.validate",
    "run_query": "smarter_obs.dashboards.query",
    "panel_sql": "smarter_obs.dashboards.query",
    "QueryResult": "smarter_obs.dashboards.datasources",
    "TimeRange": "smarter_obs.dashboards.timerange",
    "compile_dashboard": "smarter_obs.dashboards.compile",
    "compile_project": "smarter_obs.dashboards.compile",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'smarter_obs.dashboards' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
