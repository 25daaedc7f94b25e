"""``smarter-obs demo`` (what ``make demo`` runs): the whole pipeline on embedded engines, then the page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click


@click.command()
@click.option(
    "--size",
    type=click.Choice(["small", "default", "large"]),
    default="default",
    show_default=True,
    help="Volume of traffic: small (tests, ~2 days), default (7 days), large (14 days).",
)
@click.option(
    "--days", type=click.FloatRange(0.1, 30), default=None, help="Days of history (overrides --size)."
)
@click.option(
    "--tool-calls", type=click.IntRange(1, 1_000_000), default=None, help="MCP tool calls (overrides --size)."
)
@click.option(
    "--seed", type=int, default=7, show_default=True, help="Seed of every generator (same seed, same data)."
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of the embedded stores. [default: $SMARTER_OBS_HOME or ./.smarter-obs]",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("build/preview/index.html"),
    show_default=True,
    help="Where to write the preview page.",
)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project holding dashboards/ and queries/. [default: found from the current directory]",
)
def demo(
    size: str,
    days: float | None,
    tool_calls: int | None,
    seed: int,
    home: Path | None,
    output: Path,
    project: Path | None,
) -> None:
    """Run SmarterOS end to end on embedded engines and write the offline preview of the six dashboards.

    Starts PostgreSQL (pgserver), a Kafka-protocol cluster (librdkafka's mock) and an n8n API simulator;
    runs `smarter-obs serve` (spans receiver, lag and n8n collectors) on embedded ClickHouse (chDB);
    drives an MCP tool server with an MCP client (traced by smarter_obs.init_tracing, sent over OTLP),
    producers and consumer groups, and n8n executions through the real collectors; then runs every
    panel's query and writes the page. Every store under --home is reset first, so reruns work.

    \b
    Examples:
      make demo                                  # the same, from a fresh clone
      smarter-obs demo --size small              # about a minute
      smarter-obs demo --days 3 --tool-calls 2000 --output /tmp/preview.html
    """
    from smarter_obs import settings
    from smarter_obs.demo.pipeline import SIZES, run_pipeline

    chosen = SIZES[size]
    if days is not None:
        chosen = dataclasses.replace(chosen, days=days)
    if tool_calls is not None:
        chosen = dataclasses.replace(chosen, tool_calls=tool_calls)
    summary = run_pipeline(
        click.echo, home=home or settings.home(), output=output, size=chosen, seed=seed, project=project
    )
    total = sum(took for _, took in summary.steps)
    n = summary.numbers
    click.echo("")
    click.echo(f"Done in {total:.0f}s.")
    click.echo(
        f"  MCP     {n.get('tool_calls', 0)} tool calls ({n.get('tool_errors', 0)} failed) → "
        f"{n.get('spans', 0)} spans in otel_traces ({n.get('tool_call_spans', 0)} tool calls), "
        f"{_day(n.get('spans_first'))} → {_day(n.get('spans_last'))}"
    )
    click.echo(
        f"  Kafka   {n.get('kafka_messages', 0)} messages; {n.get('lag_samples', 0)} lag samples backfilled"
        f" + {n.get('live_lag_cycles', 0)} live cycles → {n.get('lag_rows', 0)} lag rows of "
        f"{n.get('consumer_groups', 0)} groups (most behind: {n.get('most_behind_group')}, "
        f"{n.get('most_behind_lag', 0)} messages)"
    )
    click.echo(f"  n8n     {n.get('n8n_executions', 0)} executions → n8n_executions")
    click.echo(f"  page    {summary.page.absolute() if summary.page else '-'}")


def _day(epoch: float | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M") if epoch else "-"
