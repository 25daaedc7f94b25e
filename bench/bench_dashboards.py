"""Dashboards (issue 11): every panel's query as `smarter-obs query` runs it, at production volume.

- MCP Tool Execution over 24 h at 10M spans (``otel_traces`` and the ``mcp_tool_calls_1m`` it feeds):
  median per panel, target < 100 ms.
- Event Stream Flow over 24 h at 4,000 group-partitions sampled every 30 s (11.5M lag rows, 1,000
  partitions): median per panel, target < 200 ms.
- N8N Automations over 7 days at 1M executions (PostgreSQL): median per panel, target < 200 ms.
- ``smarter-obs validate`` of every dashboard, wall time including interpreter start: target < 2 s.

Each panel runs through the whole library path (render, expand, execute: ``run_query``); the in-run
baseline is the same expanded SQL sent straight to the engine, so the gap is the library's own cost. Bench
data is generated inside the engines (``INSERT … SELECT`` from ``numbers()`` / ``generate_series``): the
panels' numbers are proven on seeded data by the tests, this measures speed. Tables are merged
(``OPTIMIZE … FINAL``) before measuring, the state background merges reach. Knobs: ``BENCH_SPANS``,
``BENCH_GROUP_PARTITIONS``, ``BENCH_EXECUTIONS``, ``BENCH_REPEAT``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = 1736121600  # 2025-01-06T00:00:00Z
SPANS = int(os.environ.get("BENCH_SPANS", 10_000_000))
GROUP_PARTITIONS = int(os.environ.get("BENCH_GROUP_PARTITIONS", 4000))
PARTITIONS = max(GROUP_PARTITIONS // 4, 20)
SAMPLES = 24 * 3600 // 30
EXECUTIONS = int(os.environ.get("BENCH_EXECUTIONS", 1_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 7))
TARGETS_MS = {"mcp-tools": 100.0, "event-stream": 200.0, "n8n-automations": 200.0}
VALIDATE_TARGET_S = 2.0
#: Tables merged before measuring (background merges get there; a fresh bulk load has not yet).
MERGED = (
    "otel_traces",
    "mcp_tool_calls_1m",
    "kafka_partition_offsets",
    "kafka_topic_throughput_1m",
    "kafka_consumer_lag",
    "kafka_consumer_lag_topics",
    "kafka_consumer_groups",
)


def main() -> None:
    """Run the benchmark in a child process (chDB admits one data directory per process) and record the
    targets and checks it reports."""
    import json

    from bench import _report

    child_process = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_dashboards", "--child"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child_process.stdout is not None
    for line in child_process.stdout:
        if line.startswith("@@target "):
            record = json.loads(line.removeprefix("@@target "))
            _report.target(
                record["name"], record["figure"], record["target"], record["met"], record["baseline"]
            )
        elif line.startswith("@@check "):
            _report.check(False, json.loads(line.removeprefix("@@check ")))
        else:
            print(line, end="", flush=True)
    if child_process.wait() != 0:
        raise RuntimeError(f"the benchmark process exited with {child_process.returncode}")


# -- data ------------------------------------------------------------------------------------------------


def load_spans(client, database: str) -> None:
    tools = 24
    chunk = 1_000_000
    for offset in range(0, SPANS, chunk):
        count = min(chunk, SPANS - offset)
        client.command(
            f"""
            INSERT INTO {database}.otel_traces
                (Timestamp, TraceId, SpanId, SpanName, SpanKind, ServiceName, ScopeName, SpanAttributes,
                 Duration, StatusCode, StatusMessage)
            SELECT
                toDateTime64({START} + number * (86400 / {SPANS}), 9) AS Timestamp,
                lower(hex(MD5(toString(number)))) AS TraceId,
                lower(hex(cityHash64(number))) AS SpanId,
                concat('tools/call tool_', toString(number % {tools})) AS SpanName,
                if(number % 10 = 0, 'Client', 'Server') AS SpanKind,
                ['smarteros-mcp', 'crm-mcp', 'agent-mcp'][1 + intDiv(number, 7) % 3] AS ServiceName,
                'mcp-python-sdk' AS ScopeName,
                map('mcp.method.name', 'tools/call', 'gen_ai.operation.name', 'execute_tool',
                    'gen_ai.tool.name', concat('tool_', toString(number % {tools})),
                    'jsonrpc.request.id', toString(number)) AS SpanAttributes,
                toUInt64(1000000 * (5 + (cityHash64(number, 1) % 1000) * (1 + number % {tools}) / 10))
                    AS Duration,
                if(cityHash64(number, 2) % 100 < 3, 'Error', 'Unset') AS StatusCode,
                if(StatusCode = 'Error', 'tool failed', '') AS StatusMessage
            FROM numbers({offset}, {count})
            """,
            settings={"max_insert_threads": 2, "compile_aggregate_expressions": 0},
        )


def load_lag(client, database: str) -> None:
    partitions, samples, groups = PARTITIONS, SAMPLES, GROUP_PARTITIONS // 100
    topic = "concat(['shopify', 'whatsapp', 'n8n'][1 + intDiv(p, 50) % 3], '.topic', toString(intDiv(p, 50)))"
    client.command(
        f"""
        INSERT INTO {database}.kafka_partition_offsets
        SELECT toDateTime64({START} + intDiv(number, {partitions}) * 30, 3, 'UTC') AS ts, 'bench' AS cluster,
               {topic} AS topic, toUInt32(p % 50) AS partition, toInt32(1 + p % 3) AS leader,
               [1, 2, 3], [1, 2, 3],
               0 AS log_start_offset, toInt64(intDiv(number, {partitions}) * (1 + p % 7)) AS log_end_offset,
               toUInt64(if(number < {partitions}, 0, 1 + p % 7)) AS messages, 30.0 AS interval_seconds
        FROM (SELECT number, number % {partitions} AS p FROM numbers({partitions * samples}))
        """
    )
    rows = GROUP_PARTITIONS * samples
    client.command(
        f"""
        INSERT INTO {database}.kafka_consumer_lag
        SELECT toDateTime64({START} + intDiv(number, {GROUP_PARTITIONS}) * 30, 3, 'UTC') AS ts,
               'bench' AS cluster, concat('group-', toString(g)) AS consumer_group, {topic} AS topic,
               toUInt32(p % 50) AS partition, toInt64(greatest(end - lagged, 0)) AS committed_offset,
               true AS has_commit, end AS log_end_offset,
               toInt64(least(lagged, end)) AS lag, toInt64(least(lagged, end)) AS retained_lag,
               toFloat64(30 * (g % 5)) AS lag_seconds, if(g % 13 = 0, 'WARN', 'OK') AS status,
               '' AS client_id, '' AS host
        FROM (
            SELECT number, intDiv(number % {GROUP_PARTITIONS}, 100) AS g,
                   (intDiv(number % {GROUP_PARTITIONS}, 100) * 25 + number % 100) % {partitions} AS p,
                   toInt64(intDiv(number, {GROUP_PARTITIONS}) * (1 + p % 7)) AS end,
                   toInt64((g % 5) * (1 + p % 7)) AS lagged
            FROM numbers({rows})
        )
        """,
        settings={"max_insert_threads": 2},
    )
    client.command(
        f"""
        INSERT INTO {database}.kafka_consumer_groups
        SELECT toDateTime64({START} + intDiv(number, {groups}) * 30, 3, 'UTC'), 'bench',
               concat('group-', toString(number % {groups})), 'STABLE', 1, 1,
               if(number % {groups} % 13 = 0, 'WARN', 'OK'), if(number % {groups} % 13 = 0, 'WARN', 'OK'),
               100, 100, toUInt64(100 * (number % {groups} % 5)), toUInt64(7 * (number % {groups} % 5)),
               'shopify.topic0', 0, toFloat64(30 * (number % {groups} % 5)), ''
        FROM numbers({groups * samples})
        """
    )


def load_executions(dsn: str) -> None:
    import psycopg

    from smarter_obs.db.postgres import migrate

    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO n8n_workflows (instance, id, name, active, trigger_source, trigger_types)
            SELECT CASE WHEN w > 6 THEN 'n8n-staging' ELSE 'n8n.smarterbot.cl' END, (100 + w)::text,
                   'workflow ' || w, true, (ARRAY['kafka','webhook','schedule','manual'])[1 + w % 4], '{}'
            FROM generate_series(1, 8) AS w
            """
        )
        conn.execute(
            """
            INSERT INTO n8n_executions (instance, id, workflow_id, status, finished, mode, trigger_source,
                                        started_at, stopped_at, duration_ms)
            SELECT CASE WHEN w > 6 THEN 'n8n-staging' ELSE 'n8n.smarterbot.cl' END, i::text, (100 + w)::text,
                   s, s = 'success', 'trigger',
                   (ARRAY['kafka','webhook','schedule','manual','other'])[1 + i %% 5],
                   t, t + d * interval '1 millisecond', d
            FROM (
                SELECT i, 1 + i %% 8 AS w,
                       (ARRAY['success','success','success','success','success','success','success','error',
                              'crashed','canceled'])[1 + (i * 7919) %% 10] AS s,
                       timestamptz '2025-01-06 00:00:00+00'
                           + (i::float8 / %(n)s * 7 * 86400) * interval '1 second' AS t,
                       (50 + (i * 104729) %% 20000)::bigint AS d
                FROM generate_series(1::bigint, %(n)s) AS i
            ) AS g
            """,
            {"n": EXECUTIONS},
        )
        conn.execute("ANALYZE n8n_executions")
        conn.execute("ANALYZE n8n_workflows")


# -- measuring --------------------------------------------------------------------------------------------


def _median_ms(fn, repeat: int = REPEAT) -> float:
    fn()  # warm: connections, caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_panels(project, slug: str, datasources: dict, time_range) -> None:
    from bench import _report
    from smarter_obs.dashboards import run_query
    from smarter_obs.dashboards.datasources import execute, resolve_url
    from smarter_obs.dashboards.query import panel_sql

    dashboard = project.dashboard(slug)
    target = TARGETS_MS[slug]
    for panel in dashboard.panels:
        result = run_query(project, dashboard, panel, time_range=time_range, datasources=datasources)
        _report.check(bool(result.rows), f"{slug} panel {panel.id} {panel.title!r} returned rows")
        rendered = panel_sql(project, dashboard, panel, time_range=time_range, datasources=datasources)
        url = resolve_url(rendered.datasource, datasources)
        library = _median_ms(
            lambda p=panel: run_query(project, dashboard, p, time_range=time_range, datasources=datasources)
        )
        engine = _median_ms(lambda r=rendered, u=url: execute(r.datasource, r.sql, url=u))
        print(
            f"   {slug:<16} {panel.id:>2} {panel.title:<32} median {library:7.1f} ms  (engine alone "
            f"{engine:6.1f} ms, {len(result.rows):>5} rows)",
            flush=True,
        )
        _report.target(
            f"{slug} #{panel.id} {panel.title}",
            f"{library:.1f} ms",
            f"< {target:.0f} ms",
            library < target,
            f"engine alone {engine:.1f} ms",
        )


def bench_validate() -> None:
    from bench import _report

    def wall(args: list[str]) -> float:
        started = time.perf_counter()
        completed = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        _report.check(
            completed.returncode == 0, f"`{' '.join(args[-1:])}` exited 0: {completed.stderr[-300:]}"
        )
        return elapsed

    cli = str(Path(sys.executable).with_name("smarter-obs"))
    validate = statistics.median(wall([cli, "validate"]) for _ in range(3))
    startup = statistics.median(wall([cli, "--version"]) for _ in range(3))
    print(
        f"   smarter-obs validate (all dashboards): {validate:.2f} s wall   "
        f"(smarter-obs --version {startup:.2f} s)"
    )
    met = validate < VALIDATE_TARGET_S
    target = f"< {VALIDATE_TARGET_S:.0f} s"
    _report.target(
        "smarter-obs validate, wall", f"{validate:.2f} s", target, met, f"--version {startup:.2f} s"
    )


def child() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)
    from datetime import UTC, datetime

    from bench import _report
    from smarter_obs.dashboards import load_project
    from smarter_obs.dashboards.datasources import Connection, close_connections
    from smarter_obs.dashboards.timerange import TimeRange
    from smarter_obs.db.clickhouse import migrate
    from smarter_obs.sinks.clickhouse import connect
    from smarter_obs.sinks.postgres import start_embedded

    _report.begin("dashboards")
    project = load_project(ROOT)
    print(f"   ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as tmp:
        url = f"chdb://{tmp}/ch"
        migrate(url, database="bench", ttl_days=0)
        client = connect(url)
        started = time.perf_counter()
        load_spans(client, "bench")
        load_lag(client, "bench")
        for table in MERGED:
            client.command(f"OPTIMIZE TABLE bench.{table} FINAL")
        counts = {
            t: client.command(f"SELECT count() FROM bench.{t}")
            for t in ("otel_traces", "mcp_tool_calls_1m", "kafka_consumer_lag", "kafka_partition_offsets")
        }
        print(f"   ClickHouse loaded in {time.perf_counter() - started:.0f}s: "
              + ", ".join(f"{t} {n:,}" for t, n in counts.items()), flush=True)  # fmt: skip
        _report.check(counts["otel_traces"] == SPANS, f"otel_traces holds {SPANS:,} spans")
        _report.check(counts["kafka_consumer_lag"] == GROUP_PARTITIONS * SAMPLES, "lag rows all written")
        started = time.perf_counter()
        dsn = start_embedded(Path(tmp) / "pg")
        load_executions(dsn)
        print(
            f"   PostgreSQL loaded in {time.perf_counter() - started:.0f}s: {EXECUTIONS:,} executions",
            flush=True,
        )
        datasources = {"clickhouse": Connection(url, "bench"), "supabase": dsn}
        day = TimeRange.parse(datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(START + 86400, UTC))
        week = TimeRange.parse(
            datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(START + 7 * 86400, UTC)
        )
        bench_panels(project, "mcp-tools", datasources, day)
        bench_panels(project, "event-stream", datasources, day)
        bench_panels(project, "n8n-automations", datasources, week)
        close_connections()
        client.close()
    bench_validate()
    _write_results()


def _write_results() -> None:
    """Hand the child's targets to the parent runner (one JSON line per record on stdout's last lines)."""
    import json

    from bench import _report

    for item in _report.TARGETS:
        print("@@target " + json.dumps(item.__dict__), flush=True)
    for failed in _report.FAILED_CHECKS:
        print("@@check " + json.dumps(failed), flush=True)


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        main()
