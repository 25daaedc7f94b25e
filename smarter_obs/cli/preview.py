"""``smarter-obs preview``: every dashboard's panels queried and drawn into one offline HTML page."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--datasource",
    "datasources",
    multiple=True,
    metavar="NAME=URL",
    help="Datasource URL by name (clickhouse, supabase, chatwoot); repeatable. Defaults: "
    "SMARTER_OBS_CLICKHOUSE_URL, SUPABASE_DB_URL, CHATWOOT_DB_URL, then the embedded stores.",
)
@click.option(
    "--from",
    "time_from",
    default=None,
    metavar="T",
    help="Range start: ISO-8601 or now-7d. [default: each dashboard's]",
)
@click.option(
    "--to",
    "time_to",
    default=None,
    metavar="T",
    help="Range end: ISO-8601 or now. [default: each dashboard's]",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("build/preview/index.html"),
    show_default=True,
    help="The page to write (one self-contained file).",
)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project holding dashboards/ and queries/. [default: found from the current directory]",
)
def preview(
    datasources: tuple[str, ...],
    time_from: str | None,
    time_to: str | None,
    output: Path,
    project: Path | None,
) -> None:
    """Run every panel's query of every dashboard and draw the results into one offline HTML page.

    The page works from a file with no network (ECharts is embedded; nothing is fetched); each panel
    sits where its dashboard puts it and shows its SQL one click away. Works against any databases,
    production included. Exit 1 when a query failed (its panel shows the error).

    \b
    Examples:
      smarter-obs preview                     # embedded stores → build/preview/index.html
      smarter-obs preview --from now-24h --to now --output /tmp/today.html
      smarter-obs preview --datasource clickhouse=https://reader:pw@ch:8443/otel \\
          --datasource supabase=postgresql://reader:pw@db.example.supabase.co:5432/postgres
    """
    from smarter_obs.preview.collect import collect_views, parse_datasources
    from smarter_obs.preview.render import write_page

    views = collect_views(
        project,
        datasources=parse_datasources(datasources),
        time_from=time_from,
        time_to=time_to,
        progress=lambda line: click.echo(line, err=True),
    )
    path = write_page(
        output, views, subtitle=f"range {time_from or 'dashboard default'} → {time_to or 'now'}"
    )
    panels = [p for v in views for p in v.panels]
    failed = [p for p in panels if p.error]
    empty = [p for p in panels if not p.error and not p.rows]
    click.echo(
        f"preview: {len(views)} dashboards, {len(panels)} panels ({len(failed)} failed, {len(empty)} empty) "
        f"→ {path}",
        err=True,
    )
    click.echo(str(path.absolute()))
    if failed:
        raise SystemExit(1)
