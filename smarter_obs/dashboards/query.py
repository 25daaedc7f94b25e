"""Running a panel's query exactly as its dashboard would.

For a time range (default: the dashboard's), variables (default: each variable's default, All where
offered) and datasource URLs (default: see :mod:`smarter_obs.dashboards.datasources`): render the SQL,
expand the datasource's macros and variables with the interval Grafana would pick, run it, return columns
and rows. Query variables that must be known (All without a custom all value, or no default) are resolved
by running their own query first, as Grafana does when a dashboard loads.

This is the one path every consumer uses: ``smarter-obs query``, the tests, the preview page, the alert
evaluator and ``doctor``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from smarter_obs.dashboards.datasources import Connection, QueryResult, execute, resolve_url
from smarter_obs.dashboards.errors import DashboardError, UnknownObjectError
from smarter_obs.dashboards.model import ALL, Choice, Dashboard, Panel, Variable
from smarter_obs.dashboards.project import Project, load_project
from smarter_obs.dashboards.sql import ExpandContext, RenderedQuery, render_query
from smarter_obs.dashboards.timerange import Interval, TimeRange, calculate_interval, resolution_for

__all__ = ["build_context", "interval_for", "panel_sql", "resolve_panel", "run_query", "variable_options"]

VariableValues = Mapping[str, str | Sequence[str]]


def interval_for(item: Panel | Variable | None, time_range: TimeRange) -> Interval:
    """The interval Grafana computes for this panel and range (``maxDataPoints`` or width, min interval)."""
    if isinstance(item, Panel):
        width = item.layout.w if item.layout is not None else None
        return calculate_interval(time_range, resolution_for(width, item.max_data_points), item.min_interval)
    return calculate_interval(time_range, resolution_for(None, None))


def _selection(variable: Variable, raw: str | Sequence[str], dashboard: Dashboard) -> tuple[str, ...]:
    values = [raw] if isinstance(raw, str) else list(raw)
    if any(v in ("All", ALL) for v in values) and len(values) == 1:
        if not variable.include_all:
            raise DashboardError(
                f"variable {variable.name!r} of {dashboard.slug!r} has no All option; give a value instead"
            )
        return (ALL,)
    if len(values) > 1 and not variable.multi:
        raise DashboardError(
            f"variable {variable.name!r} of {dashboard.slug!r} takes one value, got {len(values)}: {values}"
        )
    if variable.choices:
        by_text = {c.label: c.value for c in variable.choices}
        values = [by_text.get(v, v) for v in values]
    return tuple(values)


class _LazyOptions(Mapping[str, tuple[Choice, ...]]):
    """Option lists of variables, loaded (by running the variable's query) on first use."""

    def __init__(self, loader) -> None:
        self._loader = loader
        self._cache: dict[str, tuple[Choice, ...]] = {}

    def __getitem__(self, name: str) -> tuple[Choice, ...]:
        if name not in self._cache:
            self._cache[name] = self._loader(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)


def _choices_from_result(result: QueryResult, engine: str) -> tuple[Choice, ...]:
    if not result.columns:
        return ()
    columns = result.columns
    if "__value" in columns or "__text" in columns:
        vi = columns.index("__value") if "__value" in columns else columns.index("__text")
        ti = columns.index("__text") if "__text" in columns else vi
    elif engine == "clickhouse" and len(columns) >= 2:
        vi, ti = 0, 1  # the plugin's convention: first field is the id, second the text
    else:
        vi = ti = 0
    seen: dict[str, Choice] = {}
    for row in result.rows:
        value = "" if row[vi] is None else str(row[vi])
        if value not in seen:
            seen[value] = Choice(value, None if ti == vi else str(row[ti]))
    return tuple(seen.values())


def build_context(
    project: Project,
    dashboard: Dashboard,
    item: Panel | Variable | None,
    *,
    time_range: TimeRange | None = None,
    variables: VariableValues | None = None,
    datasources: Mapping[str, str | Connection] | None = None,
    now: datetime | None = None,
) -> ExpandContext:
    """The expansion context of ``item`` on ``dashboard``: range, interval, every variable's selection.

    Variables not given take their default (All where offered, else the first option, found by running
    the variable's query when it has one). Unknown variable names are an UnknownObjectError.
    """
    explicit_range = time_range is not None
    time_range = time_range or TimeRange.parse(dashboard.time_from, dashboard.time_to, now=now)
    given = dict(variables or {})
    for name in given:
        dashboard.variable(name)  # raises UnknownObjectError with a suggestion
    by_name = {v.name: v for v in dashboard.variables}
    values: dict[str, tuple[str, ...]] = {}

    def load(name: str) -> tuple[Choice, ...]:
        variable = by_name[name]
        if variable.choices:
            return variable.choices
        if variable.kind != "query":
            return (Choice(str(variable.default or "")),)
        return variable_options(
            project, dashboard, variable, time_range=time_range, values=values, options=options,
            datasources=datasources,
        )  # fmt: skip

    options = _LazyOptions(load)
    for variable in dashboard.variables:  # definition order: a variable's query may use the ones before it
        if variable.name in given:
            values[variable.name] = _selection(variable, given[variable.name], dashboard)
            continue
        default = variable.default_selection()
        if default is None:
            first = options[variable.name]
            default = (first[0].value,) if first else ("",)
        values[variable.name] = default
    return ExpandContext(
        time_range=time_range,
        interval=interval_for(item, time_range),
        variables=by_name,
        values=values,
        options=options,
        dashboard=dashboard,
        explicit_range=explicit_range,
    )


def variable_options(
    project: Project,
    dashboard: Dashboard,
    variable: Variable,
    *,
    time_range: TimeRange,
    values: Mapping[str, tuple[str, ...]],
    options: Mapping[str, tuple[Choice, ...]],
    datasources: Mapping[str, str | Connection] | None = None,
) -> tuple[Choice, ...]:
    """The options of a query variable: its query run with the variables defined before it."""
    context = ExpandContext(
        time_range=time_range,
        interval=interval_for(variable, time_range),
        variables={v.name: v for v in dashboard.variables},
        values=dict(values),
        options=options,
        dashboard=dashboard,
    )
    rendered = render_query(project, dashboard, variable, context)
    name = rendered.datasource
    result = execute(name, rendered.sql, url=resolve_url(name, datasources))
    return _choices_from_result(result, rendered.dialect.engine)


def resolve_panel(
    project: Project | str | None, dashboard: Dashboard | str, panel: Panel | int | str
) -> tuple[Project, Dashboard, Panel]:
    """Accept objects or names: a project (or folder, or None = discover), a slug, a panel id or title."""
    if not isinstance(project, Project):
        project = load_project(project)
    if not isinstance(dashboard, Dashboard):
        dashboard = project.dashboard(dashboard)
    if not isinstance(panel, Panel):
        panel = dashboard.panel(panel)
    if panel.sql is None:
        raise UnknownObjectError(f"panel {panel.id} {panel.title!r} of {dashboard.slug!r} has no query")
    return project, dashboard, panel


def panel_sql(
    project: Project | str | None,
    dashboard: Dashboard | str,
    panel: Panel | int | str,
    *,
    time_range: TimeRange | None = None,
    variables: VariableValues | None = None,
    datasources: Mapping[str, str | Connection] | None = None,
    now: datetime | None = None,
) -> RenderedQuery:
    """The panel's SQL exactly as it would run (``smarter-obs query --sql``), without running it.

    Query variables that must be resolved to build it (All without a custom all value) are still run.
    """
    project, dashboard, panel = resolve_panel(project, dashboard, panel)
    context = build_context(
        project,
        dashboard,
        panel,
        time_range=time_range,
        variables=variables,
        datasources=datasources,
        now=now,
    )
    return render_query(project, dashboard, panel, context)


def run_query(
    project: Project | str | None,
    dashboard: Dashboard | str,
    panel: Panel | int | str,
    *,
    time_range: TimeRange | None = None,
    variables: VariableValues | None = None,
    datasources: Mapping[str, str | Connection] | None = None,
    timeout: float | None = None,
    now: datetime | None = None,
) -> QueryResult:
    """Run one panel's query as its dashboard would; return ``QueryResult(columns, rows, sql, …)``.

    ``datasources`` maps datasource names (``clickhouse``, ``supabase``, ``chatwoot``) to URLs or
    :class:`~smarter_obs.dashboards.datasources.Connection` objects (a URL plus the ClickHouse database);
    others come from the environment or the embedded stores. Raises UnknownObjectError, QuerySyntaxError,
    QueryExecutionError or SinkUnavailableError, each with a message that names what to fix.
    """
    rendered = panel_sql(
        project,
        dashboard,
        panel,
        time_range=time_range,
        variables=variables,
        datasources=datasources,
        now=now,
    )
    name = rendered.datasource
    sql, params = rendered.statement()
    result = execute(name, sql, params=params, url=resolve_url(name, datasources), timeout=timeout)
    return replace(result, sql=rendered.sql) if params else result
