"""ClickHouse schema: render ``provisioning/clickhouse/NNNN_name.sql`` with Jinja2 and apply it idempotently.

Template variables (see docs/clickhouse.md):

- ``database``: the telemetry database (validated identifier); always qualify tables as ``{{ database }}.t``.
- ``on_cluster``: ``""`` or `` ON CLUSTER `name` ``.
- ``ttl_days``: integer, 0 keeps data forever.
- ``engine('MergeTree')`` / ``engine('ReplacingMergeTree', 'ver')``: the engine clause, ``Replicated*`` with
  ``'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`` in cluster mode.
- ``ttl('toDateTime(Timestamp)')``: ``TTL <expr> + toIntervalDay(N)`` or nothing when ``ttl_days`` is 0.

Applied versions are recorded in ``<database>.schema_migrations`` (version, name, checksum, applied_at).
Statements must be idempotent (``IF NOT EXISTS``): if a file fails halfway, fixing it and re-running applies
it again from the top.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from smarter_obs import settings
from smarter_obs.db._runner import Migration, MigrationReport, discover, provisioning_dir, run
from smarter_obs.errors import ConfigError, MigrationError
from smarter_obs.redact import redact_text
from smarter_obs.sinks.clickhouse import (
    connect,
    map_errors,
    parse_url,
    quote_identifier,
    resolve_database,
    validate_identifier,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["MIGRATIONS_TABLE", "migrate", "migrations_dir", "render", "render_template"]

#: Table (in the telemetry database) recording applied migrations.
MIGRATIONS_TABLE = "schema_migrations"

_REPLICA_ARGS = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


def migrations_dir() -> Path:
    """The ClickHouse migration templates: ``$SMARTER_OBS_CLICKHOUSE_MIGRATIONS``, else
    ``provisioning/clickhouse``."""
    return provisioning_dir("clickhouse", settings.CLICKHOUSE_MIGRATIONS.env)


def _resolve_ttl(ttl_days: int | None) -> int:
    value = settings.TTL_DAYS.get(ttl_days)
    if value is None or value < 0:  # an explicit int argument is not parsed: check its range here
        raise ConfigError(f"TTL days must be 0 or more, got {value}", setting=settings.TTL_DAYS.env)
    return value


def _resolve_cluster(cluster: str | None) -> str | None:
    name = settings.CLICKHOUSE_CLUSTER.get(cluster)
    if name is None:
        return None
    return validate_identifier(name, "cluster name", setting=settings.CLICKHOUSE_CLUSTER.env)


def _on_cluster(cluster: str | None) -> str:
    return f" ON CLUSTER {quote_identifier(cluster)}" if cluster else ""


def _engine(cluster: str | None, name: str, *params: str) -> str:
    if cluster:
        return f"Replicated{name}({', '.join((_REPLICA_ARGS, *params))})"
    return f"{name}({', '.join(params)})"


def render_template(text: str, *, database: str, ttl_days: int, cluster: str | None) -> str:
    """Render one template with already-validated values."""
    import jinja2

    def engine(name: str, *params: str) -> str:
        return _engine(cluster, name, *params)

    def ttl(expression: str) -> str:
        return f"TTL {expression} + toIntervalDay({ttl_days})" if ttl_days > 0 else ""

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    template = env.from_string(text)
    return template.render(
        database=quote_identifier(database),
        on_cluster=_on_cluster(cluster),
        ttl_days=ttl_days,
        engine=engine,
        ttl=ttl,
    )


def render(
    *,
    database: str | None = None,
    ttl_days: int | None = None,
    cluster: str | None = None,
    directory: Path | str | None = None,
) -> list[Migration]:
    """Every migration rendered for these settings, in version order; needs no server."""
    database = resolve_database(database)
    ttl_value = _resolve_ttl(ttl_days)
    cluster_name = _resolve_cluster(cluster)
    folder = Path(directory) if directory is not None else migrations_dir()

    def _render(text: str) -> str:
        import jinja2

        try:
            return render_template(text, database=database, ttl_days=ttl_value, cluster=cluster_name)
        except jinja2.TemplateError as exc:
            raise ConfigError(f"cannot render a migration in {folder}: {exc}") from exc

    return discover(folder, _render)


class _ClickHouseBackend:
    """The runner's Backend for ClickHouse."""

    def __init__(self, client: Client, database: str, cluster: str | None, url) -> None:
        self.client = client
        self.db = quote_identifier(database)
        self.database = database
        self.on_cluster = _on_cluster(cluster)
        self.engine = _engine(cluster, "ReplacingMergeTree", "applied_at")
        self.url = url

    def ensure_migrations_table(self) -> None:
        with map_errors("create migrations table", url=self.url, table=f"{self.database}.{MIGRATIONS_TABLE}"):
            self.client.command(f"CREATE DATABASE IF NOT EXISTS {self.db}{self.on_cluster}")
            self.client.command(
                f"CREATE TABLE IF NOT EXISTS {self.db}.{MIGRATIONS_TABLE}{self.on_cluster} ("
                "version UInt32, name String, checksum String, "
                "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)"
                f") ENGINE = {self.engine} ORDER BY version"
            )

    def applied_versions(self) -> dict[int, str]:
        with map_errors("read migrations", url=self.url, table=f"{self.database}.{MIGRATIONS_TABLE}"):
            result = self.client.query(
                f"SELECT version, argMax(checksum, applied_at) FROM {self.db}.{MIGRATIONS_TABLE} "
                "GROUP BY version"
            )
        return {int(version): checksum for version, checksum in result.result_rows}

    def apply(self, migration: Migration) -> None:
        for statement in migration.statements():
            try:
                self.client.command(statement)
            except Exception as exc:  # noqa: BLE001 - any driver error fails the migration with its text
                message = _server_message(exc, self.url.password)
                raise MigrationError(
                    f"{migration.path}: {message}", path=str(migration.path), version=migration.version
                ) from None
        with map_errors("record migration", url=self.url, table=f"{self.database}.{MIGRATIONS_TABLE}"):
            self.client.insert(
                MIGRATIONS_TABLE,
                [[migration.version, migration.name, migration.checksum]],
                column_names=["version", "name", "checksum"],
                database=self.database,
            )


def _server_message(exc: Exception, password: str | None) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}".strip(), secrets=[password])


def migrate(
    url: str | None = None,
    *,
    database: str | None = None,
    ttl_days: int | None = None,
    cluster: str | None = None,
    progress: Callable[[str], None] | None = None,
    directory: Path | str | None = None,
) -> MigrationReport:
    """Create/upgrade the telemetry schema at ``url`` (argument > env > embedded default). Idempotent.

    Raises ConfigError for bad settings, SinkUnavailableError when ClickHouse cannot be reached and
    MigrationError naming the file and the server's message when a statement fails.
    """
    parsed = parse_url(url)
    database = resolve_database(database, parsed)
    cluster_name = _resolve_cluster(cluster)
    migrations = render(database=database, ttl_days=ttl_days, cluster=cluster_name, directory=directory)
    client = connect(url)
    try:
        return run(_ClickHouseBackend(client, database, cluster_name, parsed), migrations, progress)
    finally:
        with contextlib.suppress(Exception):  # nothing useful to do when closing fails
            client.close()
