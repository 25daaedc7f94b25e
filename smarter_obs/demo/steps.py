"""Demo steps that own the embedded ClickHouse, run as child processes by :mod:`smarter_obs.demo.pipeline`.

chDB admits one process per data directory: a step that writes to it runs in its own process and exits
before ``smarter-obs serve`` takes the store over. Progress goes to stderr as ``progress: …`` lines, the
step's result to stdout as JSON.

    python -m smarter_obs.demo.steps lag-history --bootstrap HOST:PORT --clickhouse chdb:///… --start S \
        --end E
"""

from __future__ import annotations

import argparse
import json
import logging
import sys


def _progress(line: str) -> None:
    print(f"progress: {line}", file=sys.stderr, flush=True)


def lag_history(args: argparse.Namespace) -> dict:
    from smarter_obs.db.clickhouse import migrate
    from smarter_obs.demo.kafka_traffic import backfill_lag_history

    report = migrate(args.clickhouse)
    _progress(f"ClickHouse schema: {len(report.applied)} migrations applied")
    return backfill_lag_history(
        args.bootstrap,
        args.clickhouse,
        start=args.start,
        end=args.end,
        interval=args.interval,
        seed=args.seed,
        scale=args.scale,
        progress=_progress,
    )


def store_counts(args: argparse.Namespace) -> dict:
    """What landed in ClickHouse: the numbers the summary prints and the tests check."""
    from smarter_obs.sinks.clickhouse import ClickHouseSink

    with ClickHouseSink(args.clickhouse) as sink:
        db = sink.database
        tool = "SpanKind = 'Server' AND SpanAttributes['mcp.method.name'] = 'tools/call'"
        spans, tool_spans, tool_errors, first, last = sink.query_rows(
            f"SELECT count(), countIf({tool}), countIf({tool} AND StatusCode = 'Error'), "
            f"toUnixTimestamp(min(Timestamp)), toUnixTimestamp(max(Timestamp)) FROM {db}.otel_traces"
        )[0]
        lag_rows, groups, lag_first = sink.query_rows(
            "SELECT count(), uniqExact(consumer_group), toUnixTimestamp(min(ts)) "
            f"FROM {db}.kafka_consumer_lag"
        )[0]
        behind = sink.query_rows(
            f"SELECT consumer_group, max(total_lag) AS worst FROM {db}.kafka_consumer_groups "
            "GROUP BY consumer_group ORDER BY worst DESC LIMIT 1"
        )
    return {
        "spans": spans,
        "tool_call_spans": tool_spans,
        "tool_call_errors": tool_errors,
        "spans_first": first,
        "spans_last": last,
        "lag_rows": lag_rows,
        "consumer_groups": groups,
        "lag_first": lag_first,
        "most_behind_group": behind[0][0] if behind else None,
        "most_behind_lag": behind[0][1] if behind else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smarter_obs.demo.steps")
    sub = parser.add_subparsers(dest="step", required=True)
    lag = sub.add_parser(
        "lag-history", help="migrate ClickHouse, then backfill Kafka traffic and lag samples"
    )
    lag.add_argument("--bootstrap", required=True)
    lag.add_argument("--clickhouse", required=True)
    lag.add_argument("--start", type=float, required=True)
    lag.add_argument("--end", type=float, required=True)
    lag.add_argument("--interval", type=float, default=600.0)
    lag.add_argument("--seed", type=int, default=7)
    lag.add_argument("--scale", type=float, default=1.0)
    counts = sub.add_parser("store-counts", help="what landed in ClickHouse (JSON)")
    counts.add_argument("--clickhouse", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    result = {"lag-history": lag_history, "store-counts": store_counts}[args.step](args)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
