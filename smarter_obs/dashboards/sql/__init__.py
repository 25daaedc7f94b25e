"""SQL of panels: Jinja render → the datasource's macro and variable expansion → sqlglot check.

One module per dialect (``clickhouse``, ``grafana_postgres``, ``metabase``), found by name with
:func:`get_dialect` or from a target and engine with :func:`dialect_for`. :func:`render_query` runs the
first two steps for one panel and returns the SQL as the database would receive it, with a map back to
the template's lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smarter_obs.dashboards.sql._base import (
    DIALECTS,
    Dialect,
    ExpandContext,
    Expansion,
    dialect_for,
    get_dialect,
    register,
)

if TYPE_CHECKING:
    from smarter_obs.dashboards.model import Dashboard, Panel, Variable
    from smarter_obs.dashboards.project import Project
    from smarter_obs.dashboards.sql.render import Rendered

__all__ = [
    "DIALECTS",
    "Dialect",
    "ExpandContext",
    "Expansion",
    "RenderedQuery",
    "dialect_for",
    "get_dialect",
    "register",
    "render_query",
]


@dataclass(frozen=True)
class RenderedQuery:
    """A panel's SQL ready to run: ``sql`` as the database receives it, and where it came from."""

    sql: str
    datasource: str
    dialect: Dialect
    template: Rendered
    expansion: Expansion
    context: ExpandContext

    def statement(self) -> tuple[str, tuple]:
        """``(sql, parameters)`` as sent to the database (see :meth:`Expansion.statement`)."""
        return self.expansion.statement()

    def location(self, offset: int) -> tuple[int, int]:
        """Line and column in the template file of an offset in :attr:`sql`."""
        return self.template.location(self.expansion.origin(offset))


def template_context(dashboard: Dashboard, item: Panel | Variable | None, datasource: str) -> dict[str, Any]:
    params = dict(getattr(item, "params", {}) or {})
    return {
        "dashboard": dashboard,
        "panel": item,
        "params": params,
        "target": dashboard.target,
        "datasource": datasource,
        **params,
    }


def render_query(
    project: Project, dashboard: Dashboard, item: Panel | Variable, context: ExpandContext
) -> RenderedQuery:
    """Render and expand the SQL of a panel (or a query variable) for ``context``.

    Raises QuerySyntaxError (with ``line``/``column`` in the template when known) for Jinja errors and for
    macros or variables the datasource cannot expand.
    """
    from smarter_obs.dashboards.datasources import get_datasource
    from smarter_obs.dashboards.errors import QuerySyntaxError
    from smarter_obs.dashboards.sql.render import render_file

    name = dashboard.panel_datasource(item)
    datasource = get_datasource(name)
    dialect = dialect_for(dashboard.target, datasource.engine)
    if not item.sql:
        raise QuerySyntaxError(f"{item!r} has no SQL file")
    path = project.sql_path(dashboard, item.sql)
    template = render_file(
        project.queries_dir,
        path,
        template_context(dashboard, item, name),
        options=dict(dialect.jinja_options),
    )
    try:
        expansion = dialect.expand(template.text, context)
    except QuerySyntaxError as exc:
        if exc.offset is not None:
            exc.line, exc.column = template.location(exc.offset)  # type: ignore[attr-defined]
        raise
    return RenderedQuery(expansion.text, name, dialect, template, expansion, context)
