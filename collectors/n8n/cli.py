"""``smarter-obs collect n8n``: copy n8n workflows and executions into PostgreSQL / Supabase."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import click

from smarter_obs import settings
from smarter_obs.cli._options import DURATION, HttpUrl, postgres_option, setting_option
from smarter_obs.errors import ConfigError, SmarterObsError, SourceAuthError

log = logging.getLogger(__name__)


def default_instance(url: str) -> str:
    """The instance name derived from the n8n URL: its host, plus the port when one is given."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"--url {url!r} has no host; use e.g. https://n8n.example.com", setting="--url")
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname


def read_api_key(env_name: str, key_file: str | None) -> str:
    """The API key from ``--api-key-file`` or the environment variable ``env_name`` (never logged)."""
    if key_file:
        try:
            key = Path(key_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"--api-key-file {key_file}: cannot read it ({exc.strerror})", setting="--api-key-file"
            ) from None
        if not key:
            raise ConfigError(
                f"--api-key-file {key_file} is empty; put the n8n API key in it", setting="--api-key-file"
            )
        return key
    key = settings.env(env_name)
    if not key:
        raise ConfigError(
            f"the n8n API key is missing: set {env_name} (n8n → Settings → n8n API → Create an API key) "
            "or pass --api-key-file PATH",
            setting=env_name,
        )
    return key


@click.command("n8n")
@setting_option(settings.N8N_URL, "--url", required=True, type=HttpUrl(example="https://n8n.example.com"))
@click.option(
    "--api-key-env",
    default="N8N_API_KEY",
    show_default=True,
    metavar="NAME",
    help="Environment variable holding the n8n API key (scopes execution:list, execution:read, "
    "workflow:list).",
)
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="PATH",
    help="Read the API key from this file instead of the environment.",
)
@postgres_option
@click.option(
    "--instance",
    default=None,
    metavar="NAME",
    help="Name of this n8n instance in the tables (several instances can share one database). "
    "[default: the URL's host]",
)
@click.option(
    "--interval",
    type=DURATION,
    default="60s",
    show_default=True,
    help="Time between collection cycles, e.g. 30s or 5m.",
)
@click.option("--once", is_flag=True, help="Run one cycle and exit (0 ok, 1 failed).")
@click.option(
    "--page-size",
    type=click.IntRange(1, 250),
    default=250,
    show_default=True,
    help="Executions per API request (n8n allows at most 250).",
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Create/upgrade the tables before collecting (idempotent).",
)
@click.pass_context
def command(
    ctx: click.Context,
    url: str,
    api_key_env: str,
    api_key_file: str | None,
    postgres_dsn: str | None,
    instance: str | None,
    interval: float,
    once: bool,
    page_size: int,
    migrate: bool,
) -> None:
    """Copy n8n workflows and executions into PostgreSQL/Supabase (n8n_workflows, n8n_executions).

    Incremental and crash-safe: progress is stored with the rows. Unfinished executions are re-read until
    they finish. Network errors, 429 and 5xx are retried with backoff; a rejected API key stops the collector.

    \b
    Examples:
      N8N_API_KEY=... smarter-obs collect n8n --url https://n8n.example.com --once
      smarter-obs collect n8n --url http://localhost:5678 --interval 30s \\
          --postgres postgresql://postgres.REF:PASSWORD@aws-0-eu-west-1.pooler.supabase.com:6543/postgres
    """
    from smarter_obs.collectors.n8n.collector import N8nCollector
    from smarter_obs.collectors.n8n.source import N8nClient
    from smarter_obs.run import CycleOutcome, StopFlag, install_signal_handlers, run_loop

    key = read_api_key(api_key_env, api_key_file)
    name = instance or default_instance(url)
    stop = StopFlag()
    client = N8nClient(url, key, key_name=api_key_env, key_file=api_key_file, sleep=stop.wait)
    if postgres_dsn is None and settings.POSTGRES_DSN.lookup() is None:
        click.echo(f"n8n: writing to the embedded PostgreSQL under {settings.home() / 'postgres'}", err=True)
    if migrate:
        from smarter_obs.db.postgres import migrate as migrate_postgres

        migrate_postgres(postgres_dsn, progress=lambda m: click.echo(f"  {m}", err=True))

    install_signal_handlers(stop)

    def progress(message: str) -> None:
        click.echo(message, err=True)

    collector = N8nCollector(
        client, postgres_dsn, instance=name, page_size=page_size, stop=stop, progress=progress
    )
    auth_error: list[SourceAuthError] = []

    def cycle() -> CycleOutcome:
        try:
            outcome = collector.cycle()
        except SourceAuthError as exc:  # retrying cannot fix a bad key: stop, whatever the mode
            auth_error.append(exc)
            stop.set()
            return CycleOutcome(ok=False, message=str(exc))
        except SmarterObsError as exc:
            if once:
                raise
            # n8n or the database is down, or a page is malformed: one line, and the next cycle tries again
            click.echo(f"n8n {name}: cycle failed, retrying in {interval:g}s: {exc}", err=True)
            return CycleOutcome(ok=False, message=str(exc))
        click.echo(outcome.message, err=True)
        return outcome

    try:
        code = run_loop(cycle, interval=interval, once=once, stop=stop, name=f"n8n {name}")
    finally:
        collector.close()
    if auth_error:
        raise auth_error[0]
    ctx.exit(code)
