"""Errors of the dashboards-as-code machinery, under :class:`smarter_obs.SmarterObsError`.

    SmarterObsError
    └── DashboardError                  anything wrong with the project's definitions or a panel's query
        ├── ProjectNotFoundError        no folder with dashboards/ and queries/ above the working directory
        ├── DefinitionError             a dashboards/*.py module is invalid (file and line in the message)
        ├── UnknownObjectError          no dashboard/panel/variable/datasource of that name (did-you-mean)
        ├── QuerySyntaxError            a panel's SQL does not render or expand (macro, variable, Jinja)
        └── QueryExecutionError         the database refused or failed the panel's query

Validation problems are not raised: :func:`smarter_obs.dashboards.validate` returns them as
:class:`~smarter_obs.dashboards.Issue` records.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from smarter_obs.errors import SmarterObsError

__all__ = [
    "DashboardError",
    "DefinitionError",
    "ProjectNotFoundError",
    "QueryExecutionError",
    "QuerySyntaxError",
    "UnknownObjectError",
    "did_you_mean",
]


class DashboardError(SmarterObsError):
    """Base of the dashboards errors."""


class ProjectNotFoundError(DashboardError):
    """No project (a folder holding ``dashboards/`` and ``queries/``) was found."""


class DefinitionError(DashboardError):
    """A dashboard definition is invalid; ``path``/``line`` point at it when known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class UnknownObjectError(DashboardError, LookupError):
    """A dashboard, panel, variable or datasource name that does not exist."""


class QuerySyntaxError(DashboardError):
    """The panel's SQL could not be rendered or expanded; ``offset`` is in the text being expanded."""

    def __init__(self, message: str, *, offset: int | None = None, length: int = 0) -> None:
        super().__init__(message)
        self.offset = offset
        self.length = length


class QueryExecutionError(DashboardError):
    """The database failed the query; the message carries the database's own text (no secrets)."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or, with no close match, `` (known: a, b, c)``."""
    candidates = sorted(set(candidates))
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if not candidates:
        return ""
    shown = ", ".join(candidates[:12]) + (", …" if len(candidates) > 12 else "")
    return f" (known: {shown})"


for _name in (
    "DashboardError",
    "DefinitionError",
    "ProjectNotFoundError",
    "QueryExecutionError",
    "QuerySyntaxError",
    "UnknownObjectError",
):
    globals()[_name].__module__ = "smarter_obs.dashboards"
