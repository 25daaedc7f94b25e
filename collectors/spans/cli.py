"""``smarter-obs collect spans``: run the OTLP/HTTP receiver until SIGTERM/SIGINT, then flush."""

from __future__ import annotations

import click

from smarter_obs import settings
from smarter_obs.cli._options import DURATION, clickhouse_option, setting_option


def _parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{value!r}: use HOST:PORT, e.g. 127.0.0.1:4318 (port 0 picks a free one)")
    return host.strip("[]") or "0.0.0.0", int(port)


@click.command(name="spans")
@click.option(
    "--listen",
    default="127.0.0.1:4318",
    show_default=True,
    metavar="HOST:PORT",
    help="Address for OTLP/HTTP (POST /v1/traces, GET /health, GET /ready). 0.0.0.0:4318 for all "
    "interfaces; port 0 picks a free port (printed on stderr).",
)
@clickhouse_option
@setting_option(settings.CLICKHOUSE_DATABASE, "--database", help="ClickHouse database holding otel_traces.")
@click.option(
    "--only-tools",
    is_flag=True,
    help="Keep only MCP spans (mcp.method.name) and tool executions (gen_ai.tool.name, execute_tool); "
    "drop the rest without error.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=10_000,
    show_default=True,
    help="Spans per ClickHouse insert.",
)
@click.option(
    "--flush-interval",
    type=DURATION,
    default="1s",
    show_default=True,
    help="Longest time a span waits before being written (e.g. 500ms, 2s).",
)
@click.option(
    "--max-queue",
    type=click.IntRange(1),
    default=200_000,
    show_default=True,
    help="Most spans held in memory; when full (ClickHouse down or slow) senders get 503 and retry.",
)
@click.option(
    "--shutdown-timeout",
    type=DURATION,
    default="10s",
    show_default=True,
    help="Time allowed on SIGTERM to write the queued spans.",
)
@click.option(
    "--migrate/--no-migrate",
    default=None,
    help="Apply schema migrations at start. [default: on for embedded chdb://, off for servers]",
)
@click.pass_context
def command(
    ctx: click.Context,
    listen: str,
    clickhouse_url: str | None,
    database: str | None,
    only_tools: bool,
    batch_size: int,
    flush_interval: float,
    max_queue: int,
    shutdown_timeout: float,
    migrate: bool | None,
) -> None:
    """Receive OTLP/HTTP traces (protobuf or JSON, gzip) from any OpenTelemetry SDK or Collector and write
    them into ClickHouse otel_traces (the Collector clickhouseexporter schema).

    \b
    Examples:
      smarter-obs collect spans                                   # embedded ClickHouse under .smarter-obs/
      smarter-obs collect spans --listen 0.0.0.0:4318 --clickhouse https://user:pass@ch:8443/otel
      OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python my_mcp_server.py
    """
    from smarter_obs.collectors.spans.server import SpanReceiver
    from smarter_obs.run import StopFlag, install_signal_handlers
    from smarter_obs.sinks.clickhouse import ClickHouseSink, parse_url

    host, port = _parse_listen(listen)
    parsed = parse_url(clickhouse_url)
    if migrate if migrate is not None else parsed.embedded:
        from smarter_obs.db.clickhouse import migrate as run_migrations

        report = run_migrations(clickhouse_url, database=database)
        click.echo(
            f"schema: {len(report.applied)} migrations applied, {len(report.skipped)} already applied",
            err=True,
        )
    if batch_size > max_queue:
        raise click.BadParameter("must not exceed --max-queue", param_hint="--batch-size")
    sink = ClickHouseSink(clickhouse_url, database=database)
    if parsed.embedded:  # a local directory that cannot be opened is a setting to fix, not an outage
        sink.open()
    elif not sink.ping():
        click.echo(
            f"warning: ClickHouse at {sink.url.redacted()} is not reachable yet; spans are queued "
            f"(up to {max_queue}) and retried",
            err=True,
        )
    try:
        receiver = SpanReceiver(
            sink,
            host=host,
            port=port,
            only_tools=only_tools,
            batch_size=batch_size,
            max_pending=max_queue,
            flush_interval=flush_interval,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    stop = StopFlag()
    install_signal_handlers(stop)
    receiver.start()
    click.echo(
        f"listening on {receiver.url} (POST /v1/traces) → {sink.url.redacted()} database {sink.database}",
        err=True,
    )
    while not stop.wait(1.0):
        pass
    click.echo("stopping: flushing queued spans", err=True)
    ok = receiver.stop(timeout=shutdown_timeout)
    stats = receiver.batcher.stats
    click.echo(
        f"stopped: {stats.written} spans written, {stats.pending} not written, "
        f"{stats.dropped} rejected by ClickHouse",
        err=True,
    )
    ctx.exit(0 if ok else 1)
