"""``smarter-obs plan`` and ``smarter-obs publish``: compare and publish the dashboards.

Exit codes: plan 0 nothing would change, 2 something would, 1 error; publish 0 success, 1 error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from smarter_obs import __version__
from smarter_obs.dashboards.publish import config as cfg

_ENV_HELP = (
    "\b\nConfiguration (environment):\n"
    f"  {cfg.GRAFANA_URL}, {cfg.GRAFANA_TOKEN} (service-account token)\n"
    f"  {cfg.METABASE_URL}, {cfg.METABASE_API_KEY} (or {cfg.METABASE_USER} + {cfg.METABASE_PASSWORD})\n"
    f"  {cfg.METABASE_SUPABASE_DB} (default Supabase), {cfg.METABASE_CHATWOOT_DB} (default Chatwoot)\n"
    f"  {cfg.CLICKHOUSE_URL}, {cfg.SUPABASE_DB_URL}: when set, publish also manages the Grafana datasources\n"
    f"  {cfg.GRAFANA_FOLDER_UID} (default {cfg.DEFAULT_FOLDER_UID}), {cfg.METABASE_COLLECTION} "
    f"(default {cfg.DEFAULT_COLLECTION})"
)


def _common(command):
    options = [
        click.option(
            "--only", type=click.Choice(["grafana", "metabase"]), help="One target only (default: both)."
        ),
        click.option(
            "--dashboard",
            "slugs",
            multiple=True,
            metavar="SLUG",
            help="Only this dashboard (repeatable); deletes are not planned for a selection.",
        ),
        click.option(
            "--from-build",
            "build_dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Publish the payloads of a previous `smarter-obs build` in this directory (e.g. build/) "
            "instead of compiling the project.",
        ),
        click.option(
            "--project",
            type=click.Path(path_type=Path, file_okay=False),
            help="The project directory (holding dashboards/ and queries/); default: found from the cwd.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _payloads(build_dir: Path | None, project: Path | None, slugs: tuple[str, ...], only: str | None):
    from smarter_obs.dashboards.publish.source import compile_project, from_build

    if build_dir:
        return from_build(build_dir).select(slugs)
    return compile_project(project, targets=(only,) if only else ()).select(slugs)


def _progress(text: str) -> None:
    click.echo(text, err=True)


@click.command(epilog=_ENV_HELP)
@_common
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for a person; json: a list of plans with their changes and diffs.",
)
@click.option("-a", "--all", "show_all", is_flag=True, help="Also list unchanged objects.")
def plan(only, slugs, build_dir, project, fmt, show_all) -> int:
    """Show what `publish` would change on Grafana and Metabase, changing nothing.

    Per object: create / update (with a diff) / unchanged / delete. Exit 0 when nothing would change,
    2 when something would (a drift check for CI), 1 on error.
    """
    from smarter_obs.dashboards import plan as plans_module
    from smarter_obs.dashboards import publish as publishing

    payloads = _payloads(build_dir, project, slugs, only)
    config = publishing.PublishConfig.from_env()
    plans = publishing.plan(
        config, payloads, only=(only,) if only else (), complete=not slugs, progress=_progress
    )
    if fmt == "json":
        click.echo(json.dumps([p.as_dict() for p in plans], indent=2))
    else:
        click.echo("\n\n".join(p.render(verbose=show_all) for p in plans))
    return plans_module.exit_code(plans)


@click.command(epilog=_ENV_HELP)
@_common
@click.option("--force", is_flag=True, help="Overwrite objects changed on the server since the last publish.")
@click.option("--prune", is_flag=True, help="Remove published objects no longer defined (Metabase: archive).")
@click.option(
    "--message", default=None, help="Grafana version message (default: smarter-obs <version> + git SHA)."
)
def publish(only, slugs, build_dir, project, force, prune, message) -> int:
    """Validate, build and publish the dashboards to Grafana and Metabase.

    Plans both targets first (nothing is written if a credential is wrong or a dashboard was changed on
    the server without --force), then writes only what differs, with progress per object on stderr. A
    second run with no change writes nothing; after a failure, what was applied is listed and a rerun
    converges.
    """
    from smarter_obs.dashboards import publish as publishing

    payloads = _payloads(build_dir, project, slugs, only)
    config = publishing.PublishConfig.from_env()
    sha = os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA")
    message = message or f"smarter-obs {__version__}" + (f" ({sha[:12]})" if sha else "")
    report = publishing.publish(
        config,
        payloads,
        only=(only,) if only else (),
        complete=not slugs,
        force=force,
        prune=prune,
        message=message,
        progress=_progress,
    )
    for p in report.plans:
        for warning in p.warnings:
            click.echo(f"warning: {p.target}: {warning}", err=True)
    click.echo(report.summary())
    return 0
