"""``smarter-obs validate | build | list | query``: the dashboards-as-code commands.

They find the project (the folder holding ``dashboards/`` and ``queries/``) from the working directory
like git finds its repository, or take ``--project DIR``. Data goes to stdout, talk to stderr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import click

from smarter_obs.dashboards.project import SMARTER_OBS_PROJECT

project_option = click.option(
    "--project",
    "project_dir",
    envvar=SMARTER_OBS_PROJECT,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Project folder holding dashboards/ and queries/. Default: the nearest one at or above the working "
    f"directory. [env: {SMARTER_OBS_PROJECT}]",
)


def _format_option(default: str = "table") -> Any:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "json"]),
        default=default,
        show_default=True,
        help="table for people, json for programs.",
    )


class KeyValue(click.ParamType):
    """``NAME=VALUE``."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        name, sep, rest = str(value).partition("=")
        if not sep or not name.strip():
            self.fail(f"{value!r} is not NAME=VALUE", param, ctx)
        return name.strip(), rest


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


@click.command("validate")
@project_option
@click.option("--dashboard", "slugs", multiple=True, metavar="SLUG", help="Only this dashboard (repeatable).")
@_format_option("table")
def validate_command(project_dir: str | None, slugs: Sequence[str], output_format: str) -> None:
    """Check every panel's SQL without a database: Jinja, macros, variables, syntax, tables and columns.

    \b
    Each query is rendered, its datasource's macros and variables expanded exactly as the datasource
    does (every branch: one value, several values, All), parsed with sqlglot in the engine's dialect and
    every table and column resolved against the DDL in provisioning/. Problems are printed as
      dashboard › panel: file:line:column: message
    Exit 1 when there is any.
    """
    from smarter_obs.dashboards import load_project, validate

    started = time.perf_counter()
    project = load_project(project_dir)
    issues = validate(project, dashboards=slugs or None)
    if output_format == "json":
        click.echo(json.dumps([issue.to_json() for issue in issues], indent=2))
    else:
        for issue in issues:
            click.echo(str(issue))
    checked = [d for d in project.dashboards if not slugs or d.slug in slugs]
    panels = sum(1 for d in checked for p in d.panels if p.sql)
    elapsed = (time.perf_counter() - started) * 1000
    if issues:
        _echo_err(
            f"{len(issues)} problem{'s' if len(issues) != 1 else ''} in {len(checked)} dashboards "
            f"({elapsed:.0f} ms)"
        )
        raise click.exceptions.Exit(1)
    _echo_err(f"ok: {len(checked)} dashboards, {panels} panel queries valid ({elapsed:.0f} ms)")


@click.command("list")
@project_option
@_format_option("table")
def list_command(project_dir: str | None, output_format: str) -> None:
    """List every dashboard with its panels (ids are the PANEL of `smarter-obs query`)."""
    from smarter_obs.dashboards import load_project

    project = load_project(project_dir)
    if output_format == "json":
        click.echo(json.dumps([d.summary() for d in project.dashboards], indent=2))
        return
    for dashboard in project.dashboards:
        click.echo(f"{dashboard.slug}  [{dashboard.target}, {dashboard.datasource}]  {dashboard.title}")
        for panel in dashboard.panels:
            click.echo(f"  {panel.id:>3}  {panel.kind:<10}  {panel.title}")


@click.command("build")
@project_option
@click.option(
    "--output", "output_dir", type=click.Path(file_okay=False), metavar="DIR",
    help="Where the compiled dashboards go. Default: <project>/build.",
)  # fmt: skip
@click.option("--no-validate", is_flag=True, help="Build even when `validate` finds problems.")
def build_command(project_dir: str | None, output_dir: str | None, no_validate: bool) -> None:
    """Compile every dashboard into build/<target>/ and write Grafana's file provisioning.

    \b
    Also writes provisioning/grafana/datasources/smarter-obs.yaml (secrets as $ENV references) and
    provisioning/grafana/dashboards/smarter-obs.yaml (a provider reading build/grafana/).
    Validates first and stops on a problem unless --no-validate.
    """
    from pathlib import Path

    from smarter_obs.dashboards import load_project, validate
    from smarter_obs.dashboards.compile import write_build

    project = load_project(project_dir)
    if not no_validate:
        issues = validate(project)
        if issues:
            for issue in issues:
                _echo_err(str(issue))
            _echo_err(f"not built: {len(issues)} problem(s); fix them or pass --no-validate")
            raise click.exceptions.Exit(1)
    written = write_build(project, Path(output_dir) if output_dir else None)
    for path in written:
        try:
            shown = path.relative_to(project.root)
        except ValueError:
            shown = path
        click.echo(str(shown))
    _echo_err(f"built {len(project.dashboards)} dashboards, {len(written)} files")


def _time_range(start: str | None, end: str | None, dashboard) -> Any:
    from smarter_obs.dashboards.timerange import TimeRange

    return TimeRange.parse(start or dashboard.time_from, end or dashboard.time_to)


def _variables(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in body)
    return "\n".join(lines)


@click.command("query")
@click.argument("dashboard_slug", metavar="DASHBOARD")
@click.argument("panel_ref", metavar="PANEL")
@project_option
@click.option(
    "--from",
    "time_from",
    metavar="T",
    help="Range start: ISO-8601 or now-7d, now/d… Default: the dashboard's.",
)
@click.option(
    "--to", "time_to", metavar="T", help="Range end (ISO-8601 or now, now/d…). Default: the dashboard's."
)
@click.option(
    "--var", "variables", multiple=True, type=KeyValue(), metavar="NAME=VALUE",
    help="A variable's value (repeat for several values; All selects All). Default: the dashboard's default.",
)  # fmt: skip
@click.option(
    "--datasource", "datasources", multiple=True, type=KeyValue(), metavar="NAME=URL",
    help="URL of a datasource (clickhouse, supabase, chatwoot): chdb:///path, http(s)://…, postgresql://…",
)  # fmt: skip
@_format_option("table")
@click.option(
    "--sql", "show_sql", is_flag=True, help="Print the SQL exactly as it would run, without running it."
)
def query_command(
    dashboard_slug: str,
    panel_ref: str,
    project_dir: str | None,
    time_from: str | None,
    time_to: str | None,
    variables: Sequence[tuple[str, str]],
    datasources: Sequence[tuple[str, str]],
    output_format: str,
    show_sql: bool,
) -> None:
    """Run one panel's query exactly as its dashboard would, and print the rows.

    \b
    DASHBOARD is a slug and PANEL a panel id (or title) from `smarter-obs list`. Macros and variables
    are expanded for the range, with the interval Grafana would pick; variables not given take the
    dashboard's default (All where offered). A Metabase card runs as Metabase runs it: --from/--to fill
    the date-range filter (UTC days, --to included; without them it has no value), --var sets the other
    filters (tenant, inbox, …), values are bound.
    Examples:
      smarter-obs query mcp-tools 3 --from now-7d
      smarter-obs query mcp-tools 4 --var tool=whatsapp_send --var tool=shopify_order_lookup --sql
      smarter-obs query n8n-automations 1 --datasource supabase=postgresql://… --format json
      smarter-obs query commerce-analytics 3 --from 2025-04-01 --to 2025-06-30 --var tenant="Café Austral"
    """
    from smarter_obs.dashboards import load_project
    from smarter_obs.dashboards.datasources import close_connections, execute, get_datasource, resolve_url
    from smarter_obs.dashboards.query import panel_sql

    for name, _url in datasources:
        get_datasource(name)  # unknown names fail before anything runs
    urls = dict(datasources)
    project = load_project(project_dir)
    dashboard = project.dashboard(dashboard_slug)
    panel = dashboard.panel(panel_ref)
    # None = the dashboard's default range, not given (Metabase's date filter then has no value)
    time_range = _time_range(time_from, time_to, dashboard) if time_from or time_to else None
    try:
        rendered = panel_sql(
            project,
            dashboard,
            panel,
            time_range=time_range,
            variables=_variables(variables),
            datasources=urls,
        )
        interval = rendered.context.interval
        time_range = rendered.context.time_range
        _echo_err(
            f"{dashboard.slug} › {panel.title} on {rendered.datasource}: {time_range.start.isoformat()} → "
            f"{time_range.end.isoformat()}, interval {interval.text}"
        )
        if show_sql:
            click.echo(rendered.sql.rstrip())
            return
        sql, params = rendered.statement()
        result = execute(rendered.datasource, sql, params=params, url=resolve_url(rendered.datasource, urls))
    finally:
        close_connections()
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(_table(result.columns, result.rows))
    _echo_err(f"{len(result.rows)} rows in {result.elapsed_ms:.0f} ms")
