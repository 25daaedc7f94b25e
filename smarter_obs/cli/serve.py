"""``smarter-obs serve``: the OTLP spans receiver and the collectors together, in one process."""

from __future__ import annotations

import click

from smarter_obs import settings
from smarter_obs.cli._options import DURATION, clickhouse_option, postgres_option, setting_option


@click.command()
@click.option(
    "--listen",
    default="127.0.0.1:4318",
    show_default=True,
    metavar="HOST:PORT",
    help="OTLP/HTTP address (POST /v1/traces). Port 0 picks a free port.",
)
@click.option(
    "--health",
    "health_listen",
    default="127.0.0.1:13133",
    show_default=True,
    metavar="HOST:PORT",
    help="Address of GET /health: every component's state, 503 when one is failing. Port 0 picks one.",
)
@clickhouse_option
@setting_option(
    settings.CLICKHOUSE_DATABASE,
    "--database",
    help="ClickHouse database of otel_traces and the kafka_* tables.",
)
@setting_option(
    settings.KAFKA_BOOTSTRAP,
    "--kafka-bootstrap",
    help="Kafka/Redpanda bootstrap servers: runs the lag collector (none: no lag collector).",
)
@click.option(
    "--kafka-interval", type=DURATION, default="15s", show_default=True, help="Lag collection interval."
)
@click.option(
    "--kafka-group",
    "kafka_groups",
    multiple=True,
    metavar="NAME|REGEX",
    help="Consumer groups to collect (repeatable); default every discovered group.",
)
@click.option(
    "--kafka-topic",
    "kafka_topics",
    multiple=True,
    metavar="REGEX",
    help="Topics to collect (repeatable); default every topic not starting with '_'.",
)
@click.option(
    "--kafka-cluster-name", default=None, help="Value of the `cluster` column. [default: bootstrap]"
)
@click.option(
    "-X",
    "--kafka-property",
    "kafka_props",
    multiple=True,
    metavar="KEY=VALUE",
    help="librdkafka client property (repeatable), as for `collect redpanda`.",
)
@setting_option(
    settings.N8N_URL, "--n8n-url", help="n8n base URL: runs the n8n collector into PostgreSQL (none: no n8n)."
)
@click.option(
    "--n8n-api-key-env",
    default="N8N_API_KEY",
    show_default=True,
    metavar="NAME",
    help="Environment variable holding the n8n API key.",
)
@click.option(
    "--n8n-api-key-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Read the n8n API key from a file.",
)
@click.option(
    "--n8n-instance", default=None, help="Instance name in the n8n tables. [default: the URL's host]"
)
@click.option(
    "--n8n-interval", type=DURATION, default="60s", show_default=True, help="n8n collection interval."
)
@postgres_option
@click.option(
    "--migrate/--no-migrate",
    default=None,
    help="Apply schema migrations at start. [default: on for embedded stores, off for servers]",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="PATH",
    help='Once everything listens, write {"otlp_url", "health_url", "pid"} as JSON here (for '
    "supervisors and scripts using port 0).",
)
@click.option(
    "--shutdown-timeout",
    type=DURATION,
    default="10s",
    show_default=True,
    help="Time allowed on SIGTERM to finish the collectors' cycles and write the queued spans.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    listen: str,
    health_listen: str,
    clickhouse_url: str | None,
    database: str | None,
    kafka_bootstrap: str | None,
    kafka_interval: float,
    kafka_groups: tuple[str, ...],
    kafka_topics: tuple[str, ...],
    kafka_cluster_name: str | None,
    kafka_props: tuple[str, ...],
    n8n_url: str | None,
    n8n_api_key_env: str,
    n8n_api_key_file: str | None,
    n8n_instance: str | None,
    n8n_interval: float,
    postgres_dsn: str | None,
    migrate: bool | None,
    ready_file: str | None,
    shutdown_timeout: float,
) -> None:
    """Run the OTLP spans receiver and the collectors in one long-running process until SIGTERM.

    The embedded ClickHouse (chDB) admits one process per data directory: this process owns it, services
    send it OTLP, the lag collector (with --kafka-bootstrap) and the n8n collector (with --n8n-url) run on
    their intervals. Against servers it is simply every collector on one machine.

    \b
    Examples:
      smarter-obs serve                                             # spans only, embedded ClickHouse
      smarter-obs serve --kafka-bootstrap localhost:9092 --n8n-url http://localhost:5678
      smarter-obs serve --listen 0.0.0.0:4318 --clickhouse https://user:pass@ch:8443/otel \\
          --kafka-bootstrap rp-1:9092 --kafka-interval 30s
      curl -s 127.0.0.1:13133/health
    """
    from smarter_obs import _collectors as c
    from smarter_obs.run import StopFlag, install_signal_handlers
    from smarter_obs.serve import Service
    from smarter_obs.sinks.clickhouse import ClickHouseSink, parse_url

    host, port = c.parse_listen(listen)
    health_host, health_port = c.parse_listen(health_listen)
    embedded = parse_url(clickhouse_url).embedded
    if migrate if migrate is not None else embedded:
        from smarter_obs.db.clickhouse import migrate as migrate_clickhouse

        report = migrate_clickhouse(clickhouse_url, database=database)
        click.echo(f"clickhouse schema: {len(report.applied)} migrations applied", err=True)
    stop = StopFlag()
    loops = []
    if kafka_bootstrap:
        loops.append(
            _lag_loop(
                c,
                clickhouse_url,
                database,
                kafka_bootstrap,
                kafka_interval,
                kafka_groups,
                kafka_topics,
                kafka_cluster_name,
                kafka_props,
            )
        )
    if n8n_url:
        loops.append(
            _n8n_loop(
                c,
                n8n_url,
                n8n_api_key_env,
                n8n_api_key_file,
                n8n_instance,
                n8n_interval,
                postgres_dsn,
                migrate,
                stop,
            )
        )
    sink = ClickHouseSink(clickhouse_url, database=database)
    try:
        receiver = c.SpanReceiver(sink, host=host, port=port)
        service = Service(receiver, loops, health_address=(health_host, health_port), stop=stop)
    except OSError as exc:
        raise click.ClickException(f"cannot listen: {exc.strerror or exc}") from None
    install_signal_handlers(service.stop_flag)
    service.start()
    names = ", ".join(["spans", *(loop.name for loop in loops)])
    click.echo(
        f"serving {names}: OTLP on {receiver.url}/v1/traces, health on {service.health_url} "
        f"→ {sink.url.redacted()} database {sink.database}",
        err=True,
    )
    if ready_file:
        _write_ready_file(ready_file, receiver.url, service.health_url)
    while not service.stop_flag.wait(1.0):
        pass
    click.echo("stopping: finishing collector cycles, flushing queued spans", err=True)
    ok = service.stop(timeout=shutdown_timeout)
    stats = receiver.batcher.stats
    click.echo(f"stopped: {stats.written} spans written, {stats.pending} not written", err=True)
    ctx.exit(0 if ok else 1)


def _lag_loop(c, clickhouse_url, database, bootstrap, interval, groups, topics, cluster_name, props):
    from smarter_obs.serve import CollectorLoop
    from smarter_obs.sinks.clickhouse import ClickHouseSink

    servers = c.validate_bootstrap(bootstrap)
    config = c.LagConfig(
        bootstrap=servers,
        cluster=cluster_name or servers,
        groups=c.GroupSelector.parse(groups),
        topics=c.TopicSelector.parse(topics),
        properties=c.kafka_properties(props),
    )
    sink = ClickHouseSink(clickhouse_url, database=database)
    collector = c.LagCollector(config, sink, history_lookback=max(6 * 3600.0, interval * 240))
    return CollectorLoop("kafka_lag", collector.cycle, interval, close=sink.close)


def _n8n_loop(c, url, key_env, key_file, instance, interval, postgres_dsn, migrate, stop):
    from smarter_obs.serve import CollectorLoop

    key = c.read_api_key(key_env, key_file)
    client = c.N8nClient(url, key, key_name=key_env, key_file=key_file, sleep=stop.wait)
    if migrate is not False:  # the n8n tables are ours; migrating is idempotent, as `collect n8n` does
        from smarter_obs.db.postgres import migrate as migrate_postgres

        migrate_postgres(postgres_dsn)
    collector = c.N8nCollector(client, postgres_dsn, instance=instance or c.default_instance(url), stop=stop)
    return CollectorLoop("n8n", collector.cycle, interval, close=collector.close)


def _write_ready_file(path: str, otlp_url: str, health_url: str) -> None:
    import json
    import os
    from pathlib import Path

    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps({"otlp_url": otlp_url, "health_url": health_url, "pid": os.getpid()}))
    partial.replace(target)  # readers never see a half-written file
