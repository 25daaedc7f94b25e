"""``smarter-obs collect redpanda``: the Kafka/Redpanda lag collector's command."""

from __future__ import annotations

import logging

import click

from smarter_obs import settings
from smarter_obs.cli._options import clickhouse_option, setting_option

log = logging.getLogger(__name__)


@click.command("redpanda")
@setting_option(settings.KAFKA_BOOTSTRAP, "--bootstrap")
@clickhouse_option
@setting_option(
    settings.CLICKHOUSE_DATABASE,
    "--database",
    help="ClickHouse database holding the kafka_* tables (created by `smarter-obs db migrate`).",
)
@setting_option(
    settings.KAFKA_GROUPS,
    "--group",
    "groups",
    multiple=True,
    help="Consumer group to collect; repeatable. A plain name (letters, digits, '.', '-', '_') is "
    "collected even when the broker cannot list groups; a regex (e.g. 'n8n-.*') filters the "
    "discovered groups (whole-name match). Space-separated in the variable.",
)
@setting_option(
    settings.KAFKA_TOPICS,
    "--topic",
    "topics",
    multiple=True,
    help="Topics to collect (whole-name regex); repeatable. Space-separated in the variable.",
)
@setting_option(settings.KAFKA_CLUSTER_NAME, "--cluster-name")
@setting_option(
    settings.KAFKA_INTERVAL,
    "--interval",
    default=settings.KAFKA_INTERVAL.default,
    help="Time between collection cycles (e.g. 15s, 1m).",
)
@click.option(
    "--once",
    is_flag=True,
    help="Run one cycle and exit: 0 when the cluster was read and stored, 1 otherwise.",
)
@setting_option(settings.KAFKA_TIMEOUT, "--timeout", default=settings.KAFKA_TIMEOUT.default)
@click.option(
    "--window",
    type=click.IntRange(2, 1000),
    default=10,
    show_default=True,
    help="Samples per partition in the sliding window of the Burrow-style status.",
)
@click.option(
    "--allowed-lag",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Lag (messages) still considered OK by the status evaluation.",
)
@click.option(
    "-X",
    "--kafka-property",
    "kafka_props",
    multiple=True,
    metavar="KEY=VALUE",
    help="librdkafka client property, e.g. -X security.protocol=SASL_SSL -X sasl.mechanism=SCRAM-SHA-256; "
    "repeatable. Also from SMARTER_OBS_KAFKA_<NAME> (dots as underscores; *_FILE reads the value "
    "from a file, for secrets such as SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE).",
)
@click.pass_context
def command(
    ctx: click.Context,
    bootstrap: str | None,
    clickhouse_url: str | None,
    database: str | None,
    groups: tuple[str, ...],
    topics: tuple[str, ...],
    cluster_name: str | None,
    interval: float,
    once: bool,
    timeout: float,
    window: int,
    allowed_lag: int,
    kafka_props: tuple[str, ...],
) -> None:
    """Collect partition offsets, consumer group commits, lag and status from Kafka/Redpanda into ClickHouse.

    \b
    Examples:
      smarter-obs collect redpanda --bootstrap localhost:9092 --once
      smarter-obs collect redpanda --bootstrap rp-1:9092,rp-2:9092 --group 'n8n-.*' --topic 'shopify\\..*'
      SMARTER_OBS_KAFKA_SECURITY_PROTOCOL=SASL_SSL SMARTER_OBS_KAFKA_SASL_MECHANISM=SCRAM-SHA-256 \\
        SMARTER_OBS_KAFKA_SASL_USERNAME=obs SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE=/run/secrets/rp \\
        smarter-obs collect redpanda --bootstrap seed.cloud.redpanda.com:9092
    """
    from smarter_obs.collectors.redpanda_lag.collector import LagCollector
    from smarter_obs.collectors.redpanda_lag.config import (
        GroupSelector,
        LagConfig,
        TopicSelector,
        kafka_properties,
        redact_properties,
        validate_bootstrap,
    )
    from smarter_obs.collectors.redpanda_lag.status import Rules
    from smarter_obs.run import CycleOutcome, StopFlag, install_signal_handlers, run_loop
    from smarter_obs.sinks.clickhouse import ClickHouseSink

    servers = validate_bootstrap(bootstrap)
    config = LagConfig(
        bootstrap=servers,
        cluster=cluster_name or servers,
        groups=GroupSelector.parse(groups),
        topics=TopicSelector.parse(topics),
        properties=kafka_properties(kafka_props),
        timeout=timeout,
    )
    rules = Rules(window=window, allowed_lag=allowed_lag, min_samples=min(3, window))
    if config.properties:
        log.info("Kafka client properties: %s", redact_properties(config.properties))
    with ClickHouseSink(clickhouse_url, database=database) as sink:
        if sink.url.embedded:  # a local directory that cannot be opened is a setting to fix, not an outage
            sink.open()
        collector = LagCollector(config, sink, rules=rules, history_lookback=max(6 * 3600.0, interval * 240))
        collector.quiet_failures = once
        stop = StopFlag()
        install_signal_handlers(stop)
        outcome_box: list[CycleOutcome] = []

        def cycle() -> CycleOutcome:
            outcome = collector.cycle()
            outcome_box[:] = [outcome]
            return outcome

        code = run_loop(cycle, interval=interval, once=once, stop=stop, name="redpanda")
    if once:
        outcome = outcome_box[0]
        if outcome.ok:
            click.echo(f"redpanda: {outcome.message}", err=True)
        else:
            click.echo(f"error: {outcome.message}", err=True)
    ctx.exit(code)
