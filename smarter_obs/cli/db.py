"""``smarter-obs db``: schema management for the telemetry stores."""

from __future__ import annotations

import click

from smarter_obs import settings
from smarter_obs.cli._options import clickhouse_option, postgres_option, setting_option


@click.group()
def db() -> None:
    """Create and upgrade the ClickHouse and PostgreSQL schemas."""


@db.command()
@clickhouse_option
@postgres_option
@setting_option(
    settings.CLICKHOUSE_DATABASE, "--database", help="ClickHouse database for the telemetry tables."
)
@setting_option(settings.TTL_DAYS, "--ttl-days")
@setting_option(settings.CLICKHOUSE_CLUSTER, "--cluster")
@click.option(
    "--only",
    type=click.Choice(["clickhouse", "postgres", "all"]),
    default=None,
    help="Which store to migrate. Default: the ones named by --clickhouse/--postgres, "
    "or both embedded stores when neither is given.",
)
def migrate(
    clickhouse_url: str | None,
    postgres_dsn: str | None,
    database: str | None,
    ttl_days: int | None,
    cluster: str | None,
    only: str | None,
) -> None:
    """Apply pending schema migrations (idempotent: re-running changes nothing).

    \b
    Examples:
      smarter-obs db migrate                                  # both embedded stores
      smarter-obs db migrate --clickhouse chdb:///srv/ch
      smarter-obs db migrate --clickhouse https://user:pass@ch.example.com:8443/otel
      smarter-obs db migrate --postgres postgresql://user@host:5432/postgres
    """
    if only is None:
        only = "all" if not (clickhouse_url or postgres_dsn) else None
    targets = []
    if only in ("clickhouse", "all") or (only is None and clickhouse_url):
        targets.append("clickhouse")
    if only in ("postgres", "all") or (only is None and postgres_dsn):
        targets.append("postgres")

    def progress(message: str) -> None:
        click.echo(f"  {message}", err=True)

    for target in targets:
        click.echo(f"{target}: migrating", err=True)
        if target == "clickhouse":
            from smarter_obs.db.clickhouse import migrate as migrate_clickhouse

            report = migrate_clickhouse(
                clickhouse_url, database=database, ttl_days=ttl_days, cluster=cluster, progress=progress
            )
        else:
            from smarter_obs.db.postgres import migrate as migrate_postgres

            report = migrate_postgres(postgres_dsn, progress=progress)
        click.echo(f"{target}: {len(report.applied)} applied, {len(report.skipped)} already applied")
