"""``smarter-obs demo``: the telemetry path end to end on the embedded stores."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--calls", type=click.IntRange(1, 100_000), default=60, show_default=True, help="MCP tool calls to make."
)
def demo(calls: int) -> None:
    """Trace a real MCP server into embedded ClickHouse, collect mock-Kafka lag, print the dashboard numbers.

    Uses the embedded stores under .smarter-obs/ (or SMARTER_OBS_CLICKHOUSE_URL / SMARTER_OBS_HOME).
    Needs the dev extra (the mcp SDK and confluent-kafka): pip install 'smarter-obs[dev]'.
    """
    from smarter_obs._demo import run_demo

    run_demo(lambda line: click.echo(line), calls=calls)
