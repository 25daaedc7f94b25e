"""``validate``: every panel's (and query variable's) SQL, in every branch, checked without a database.

For each query: render the Jinja, expand the datasource's macros and variables exactly as the datasource
does (strict: an unknown macro, variable or missing macro argument is an error), parse with sqlglot in the
engine's dialect and resolve every table and column against the schema read from ``provisioning/``.

Branches: each variable the SQL mentions takes each of its states (one value; several values when it is
multi-value; All when offered, where ``$__conditionalAll`` becomes ``1=1``). Variables expand
independently of each other, so every state of every variable is covered without trying every
combination: branch *i* gives each variable its *i*-th state (the last one once it has no more). An issue
that occurs only in some branches says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from smarter_obs.dashboards.datasources import get_datasource
from smarter_obs.dashboards.errors import DashboardError, QuerySyntaxError, UnknownObjectError
from smarter_obs.dashboards.model import ALL, Choice, Dashboard, Panel, Variable
from smarter_obs.dashboards.project import Project, load_project
from smarter_obs.dashboards.sql import ExpandContext, dialect_for
from smarter_obs.dashboards.sql.check import check_sql
from smarter_obs.dashboards.sql.render import Rendered, render_file
from smarter_obs.dashboards.sql.schema import Schema, load_schema
from smarter_obs.dashboards.timerange import TimeRange

__all__ = ["Issue", "schema_folder", "validate"]


@dataclass(frozen=True)
class Issue:
    """One validation problem, located in the SQL template (1-based line and column)."""

    dashboard: str
    panel: str
    file: str
    line: int
    column: int
    message: str
    panel_id: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{self.dashboard} › {self.panel}: {where}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "dashboard": self.dashboard,
            "panel": self.panel,
            "panel_id": self.panel_id,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


def schema_folder(project: Project, datasource: str) -> Path:
    """The DDL folder a datasource's queries are checked against: the project's ``provisioning/<schema>``,
    else the installed package's copy."""
    spec = get_datasource(datasource)
    folder = project.provisioning_dir / spec.schema
    if folder.is_dir():
        return folder
    from importlib import resources

    return Path(str(resources.files("smarter_obs.provisioning") / spec.schema))


def _states(variable: Variable) -> list[tuple[str, ...]]:
    """The selections validation tries for one variable."""
    values = [c.value for c in variable.choices] or list(variable.samples)
    if variable.kind == "constant":
        return [(str(variable.default),)]
    states: list[tuple[str, ...]] = [(values[0],)]
    if variable.multi and len(values) > 1:
        states.append(tuple(values[:2]))
    if variable.include_all:
        states.append((ALL,))
    return states


def _branches(variables: Sequence[Variable], referenced: set[str]) -> list[dict[str, tuple[str, ...]]]:
    base = {v.name: _states(v)[0] for v in variables}
    chosen = [v for v in variables if v.name in referenced]
    state_lists = [_states(v) for v in chosen]
    width = max((len(s) for s in state_lists), default=1)
    combos = [tuple(s[min(i, len(s) - 1)] for s in state_lists) for i in range(width)]
    return [{**base, **{v.name: state for v, state in zip(chosen, combo, strict=True)}} for combo in combos]


def _show(state: tuple[str, ...]) -> str:
    return "All" if state == (ALL,) else ", ".join(repr(v) for v in state)


class _Validator:
    def __init__(self, project: Project, time_range: TimeRange) -> None:
        self.project = project
        self.time_range = time_range
        self.issues: list[Issue] = []

    def relative(self, path: Path | str | None) -> str:
        if path is None:
            return "?"
        path = Path(path)
        try:
            return path.resolve().relative_to(self.project.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def add(
        self,
        dashboard: Dashboard,
        item: Panel | Variable,
        file: Path | str | None,
        line: int,
        column: int,
        message: str,
    ) -> None:
        label = item.title if isinstance(item, Panel) else f"variable {item.name}"
        panel_id = item.id if isinstance(item, Panel) else None
        issue = Issue(dashboard.slug, label, self.relative(file), line or 0, column or 0, message, panel_id)
        if issue not in self.issues:
            self.issues.append(issue)

    def dashboard(self, dashboard: Dashboard) -> None:
        for index, variable in enumerate(dashboard.variables):
            if variable.sql:
                self.item(dashboard, variable, dashboard.variables[:index])
        for panel in dashboard.panels:
            if panel.sql:
                self.item(dashboard, panel, dashboard.variables)

    def item(self, dashboard: Dashboard, item: Panel | Variable, visible: Sequence[Variable]) -> None:
        source = dashboard.source
        try:
            name = dashboard.panel_datasource(item)
            datasource = get_datasource(name)
            dialect = dialect_for(dashboard.target, datasource.engine)
            schema = load_schema(schema_folder(self.project, name), datasource.engine)
        except (UnknownObjectError, DashboardError) as exc:
            self.add(dashboard, item, source, 0, 0, str(exc))
            return
        path = self.project.sql_path(dashboard, item.sql or "")
        if not path.is_file():
            self.add(dashboard, item, source, 0, 0, f"SQL file {self.relative(path)} does not exist")
            return
        from smarter_obs.dashboards.sql import template_context

        try:
            rendered = render_file(
                self.project.queries_dir, path, template_context(dashboard, item, name),
                options=dict(dialect.jinja_options),
            )  # fmt: skip
        except QuerySyntaxError as exc:
            file = getattr(exc, "path", None) or path
            self.add(dashboard, item, file, getattr(exc, "line", 0) or 0, 1, str(exc))
            return
        names = [v.name for v in visible]
        referenced = dialect.referenced_variables(rendered.text, names)
        branches = _branches(visible, referenced)
        found: dict[tuple[int, int, str], list[int]] = {}
        for index, branch in enumerate(branches):
            for line, column, message in self.branch(
                dashboard, item, visible, branch, rendered, dialect, schema
            ):
                found.setdefault((line, column, message), []).append(index)
        for (line, column, message), where in found.items():
            if len(where) < len(branches):
                issue = (line, column, message)
                condition = self.condition(
                    issue, dashboard, item, visible, referenced, rendered, dialect, schema
                )
                message += f" (when {condition})"
            self.add(dashboard, item, path, line, column, message)

    def condition(self, issue, dashboard, item, visible, referenced, rendered, dialect, schema) -> str:
        """Which variable states an issue depends on: each state tried alone on the first-state branch
        (only run for issues some branches have, so validation stays fast when all is well)."""
        base = {v.name: _states(v)[0] for v in visible}

        def has(branch: dict) -> bool:
            return issue in self.branch(dashboard, item, visible, branch, rendered, dialect, schema)

        base_has = has(base)
        parts = []
        for variable in visible:
            if variable.name not in referenced:
                continue
            for state in _states(variable)[1:]:
                if has({**base, variable.name: state}) != base_has:
                    shown = _show(state)
                    parts.append(
                        f"{variable.name} is not {shown}" if base_has else f"{variable.name}={shown}"
                    )
        if not parts:
            return ", ".join(f"{name}={_show(base[name])}" for name in sorted(referenced))
        return (" and " if base_has else " or ").join(parts)

    def branch(self, dashboard, item, visible, branch, rendered: Rendered, dialect, schema: Schema):
        from smarter_obs.dashboards.query import interval_for

        options = {v.name: v.choices or tuple(Choice(s) for s in v.samples) for v in visible}
        context = ExpandContext(
            time_range=self.time_range,
            interval=interval_for(item, self.time_range),
            variables={v.name: v for v in visible},
            values=branch,
            options=options,
            dashboard=dashboard,
            strict=True,
        )
        try:
            expansion = dialect.expand(rendered.text, context)
        except QuerySyntaxError as exc:
            line, column = rendered.location(exc.offset or 0)
            return [(line, column, str(exc))]
        problems = check_sql(expansion.text, dialect.engine, schema)
        return [(*rendered.location(expansion.origin(p.start)), p.message) for p in problems]


def validate(
    project: Project | str | Path | None = None,
    *,
    dashboards: Iterable[str] | None = None,
    time_range: TimeRange | None = None,
) -> list[Issue]:
    """Every issue in the project's queries (all dashboards, or the given slugs); empty when all is well.

    Raises ProjectNotFoundError / DefinitionError when the project itself cannot be loaded.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    selected = [project.dashboard(slug) for slug in dashboards] if dashboards else list(project.dashboards)
    validator = _Validator(project, time_range or TimeRange.parse("now-24h", "now"))
    for dashboard in selected:
        validator.dashboard(dashboard)
    return validator.issues
