"""``make demo``: the whole SmarterOS pipeline on the embedded engines, ending in the preview page.

Processes, as in a deployment (chDB admits one process per data directory, so the store has one owner at a
time and every other process reaches it through that owner):

1. this process starts the embedded PostgreSQL (pgserver; databases ``postgres`` = the ``supabase``
   datasource and ``chatwoot``), librdkafka's mock Kafka cluster and the n8n API simulator, and keeps
   them up until the end;
2. a child process migrates ClickHouse and writes days of lag history: the real lag collector on a
   virtual clock while producers and consumer groups run through those days (:mod:`.kafka_traffic`);
3. ``smarter-obs serve`` owns ClickHouse from then on: the OTLP receiver, the lag collector on an interval
   (live traffic keeps flowing) and the n8n collector reading the simulator into PostgreSQL;
4. the MCP tool server and its client run here, traced by ``smarter_obs.init_tracing``, exporting OTLP to
   serve (traces backdated per conversation, :mod:`.backdate`);
5. serve stops on SIGTERM (flushing), then ``smarter-obs preview`` runs every panel's query and writes the
   page.

Everything is reset on each run, so the numbers are this run's and a second run works the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smarter_obs.errors import SmarterObsError

__all__ = ["SIZES", "DemoSize", "run_pipeline"]

N8N_INSTANCE = "n8n.smarteros.demo"


@dataclass(frozen=True)
class DemoSize:
    """How much traffic: days of history and the volume of each source."""

    days: float
    tool_calls: int
    lag_interval: float  # seconds between backfilled lag samples
    n8n_executions: int
    kafka_scale: float = 1.0
    concurrency: int = 96
    business_days: int = 90  # Supabase and Chatwoot history (30-day windows need two months)
    profiles: int = 600
    checkouts_per_day: float = 40.0
    conversations_per_day: float = 30.0


SIZES = {
    "small": DemoSize(
        days=2, tool_calls=300, lag_interval=1800, n8n_executions=300, kafka_scale=0.3, concurrency=64,
        business_days=65, profiles=150, checkouts_per_day=10, conversations_per_day=8,
    ),
    "default": DemoSize(
        days=7, tool_calls=3000, lag_interval=900, n8n_executions=4000, kafka_scale=0.4, concurrency=128,
    ),
    "large": DemoSize(
        days=14, tool_calls=20000, lag_interval=300, n8n_executions=20000, concurrency=160, profiles=3000,
        checkouts_per_day=200, conversations_per_day=150,
    ),
}  # fmt: skip


@dataclass
class Summary:
    steps: list[tuple[str, float]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    page: Path | None = None


class _Steps:
    def __init__(self, echo: Callable[[str], None], total: int) -> None:
        self.echo, self.total, self.index = echo, total, 0
        self.summary = Summary()
        self._started: float | None = None
        self._title = ""

    def begin(self, title: str) -> None:
        self.end()
        self.index += 1
        self._title, self._started = title, time.monotonic()
        self.echo(f"[{self.index}/{self.total}] {title}")

    def detail(self, line: str) -> None:
        self.echo(f"      {line}")

    def end(self) -> None:
        if self._started is not None:
            took = time.monotonic() - self._started
            self.summary.steps.append((self._title, took))
            self.echo(f"      done in {took:.1f}s")
            self._started = None


def run_pipeline(
    echo: Callable[[str], None],
    *,
    home: Path,
    output: Path,
    size: DemoSize,
    seed: int = 7,
    project: Path | None = None,
) -> Summary:
    """Run every step; ``echo`` receives progress. Raises SmarterObsError naming the failed step."""
    from smarter_obs.demo.kafka_cluster import MockCluster
    from smarter_obs.demo.kafka_traffic import CLUSTER_NAME, LiveTraffic, create_topics
    from smarter_obs.demo.n8n_api import N8nSimulator
    from smarter_obs.sinks.postgres import start_embedded

    steps = _Steps(echo, 7)
    home = home.absolute()
    end = float(int(time.time() // 60 * 60))
    start = end - size.days * 86400
    clickhouse_url = f"chdb://{home / 'clickhouse'}"
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    steps.begin(f"embedded engines under {home}")
    shutil.rmtree(home / "clickhouse", ignore_errors=True)  # the previous run's store (nothing owns it now)
    server_dsn = start_embedded(home / "postgres")
    supabase_dsn, chatwoot_dsn = _reset_postgres(server_dsn)
    steps.detail(
        f"PostgreSQL (pgserver): databases postgres (supabase datasource) and chatwoot at {home / 'postgres'}"
    )
    cluster = MockCluster(brokers=3)
    create_topics(cluster)
    steps.detail(f"Kafka (librdkafka mock cluster, 3 brokers): {cluster.bootstrap}")
    simulator = N8nSimulator.generate(executions=size.n8n_executions, start=start, end=end, seed=seed).start()
    steps.detail(f"n8n API simulator: {simulator.url} ({len(simulator.executions)} executions)")
    live: LiveTraffic | None = None
    serve: subprocess.Popen | None = None
    try:
        steps.begin(
            f"Kafka history: {size.days:g} days of traffic, lag sampled every {size.lag_interval / 60:g} min"
        )
        result = _child(
            [
                "lag-history",
                "--bootstrap", cluster.bootstrap,
                "--clickhouse", clickhouse_url,
                "--start", str(start),
                "--end", str(end - 60),
                "--interval", str(size.lag_interval),
                "--seed", str(seed),
                "--scale", str(size.kafka_scale),
            ],
            steps.detail,
        )  # fmt: skip
        steps.summary.numbers.update({"lag_samples": result["cycles"], "kafka_messages": result["messages"]})

        steps.begin("smarter-obs serve: OTLP receiver + lag collector + n8n collector")
        serve, urls = _start_serve(
            home, clickhouse_url, cluster.bootstrap, CLUSTER_NAME, simulator.url, supabase_dsn
        )
        steps.detail(f"OTLP {urls['otlp_url']}/v1/traces, health {urls['health_url']}")
        live = LiveTraffic(cluster.bootstrap, seed=seed + 1, scale=size.kafka_scale).start()

        steps.begin(f"MCP traffic: {size.tool_calls} tool calls over {size.days:g} days → OTLP → otel_traces")
        from smarter_obs.demo.mcp_traffic import run_mcp_traffic

        report = run_mcp_traffic(
            urls["otlp_url"],
            calls=size.tool_calls,
            start=start,
            end=end - 120,
            seed=seed,
            concurrency=size.concurrency,
            progress=steps.detail,
        )
        steps.summary.numbers.update({"tool_calls": report.calls, "tool_errors": report.errors})
        steps.detail(f"{report.conversations} conversations, {report.errors} failed calls")

        steps.begin("n8n executions → PostgreSQL; business rows")
        copied = _wait_n8n(urls["health_url"], supabase_dsn, len(simulator.executions))
        steps.summary.numbers["n8n_executions"] = copied
        steps.detail(f"{copied} executions copied by the n8n collector")
        for line in _business_rows(supabase_dsn, chatwoot_dsn, end=end, size=size, seed=seed):
            steps.detail(line)

        steps.begin("stopping serve (SIGTERM: collectors finish, queued spans written)")
        health = _get_json(urls["health_url"])
        steps.summary.numbers["live_lag_cycles"] = health["components"].get("kafka_lag", {}).get("cycles", 0)
        written = _stop(serve)  # before the traffic stops, so the last lag samples show a running bus
        serve = None
        live.stop()
        live = None
        steps.detail(written)
        counts = _child(["store-counts", "--clickhouse", clickhouse_url], steps.detail)
        steps.summary.numbers.update(counts)
        steps.detail(
            f"ClickHouse: {counts['spans']} spans ({counts['tool_call_spans']} tool calls), "
            f"{counts['lag_rows']} lag rows of {counts['consumer_groups']} groups"
        )

        steps.begin("dashboards: validate, build, run every panel's query, write the page")
        datasources = [
            f"clickhouse={clickhouse_url}",
            f"supabase={supabase_dsn}",
            f"chatwoot={chatwoot_dsn}",
        ]
        _preview(output, datasources, start, end, project, steps.detail, logs)
        steps.summary.page = output
        steps.end()
    finally:  # after a failure: take everything down without hiding the error that got us here
        if serve is not None:
            _terminate(serve)
        if live is not None:
            live.stop()
        simulator.stop()
        cluster.close()
    return steps.summary


def _reset_postgres(server_dsn: str) -> tuple[str, str]:
    """Empty ``postgres`` (the supabase datasource) and ``chatwoot`` databases, migrated; their DSNs."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from smarter_obs.db.postgres import migrate
    from smarter_obs.sinks.postgres import connect

    with connect(server_dsn) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("DROP DATABASE IF EXISTS chatwoot WITH (FORCE)")
        conn.execute("CREATE DATABASE chatwoot")
    migrate(server_dsn)
    params = conninfo_to_dict(server_dsn)
    params["dbname"] = "chatwoot"
    return server_dsn, make_conninfo(**params)


def _child(args: list[str], detail: Callable[[str], None]) -> dict[str, Any]:
    """Run a step in a child process (it may own chDB); its stderr lines are progress, stdout its JSON."""
    process = subprocess.Popen(
        [sys.executable, "-m", "smarter_obs.demo.steps", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None and process.stdout is not None
    errors = []
    for line in process.stderr:
        line = line.rstrip()
        if line.startswith("progress: "):
            detail(line.removeprefix("progress: "))
        elif line:
            errors.append(line)
    out = process.stdout.read()
    if process.wait() != 0:
        raise SmarterObsError(
            f"demo step {args[0]} failed: " + ("\n".join(errors[-15:]) or f"exit {process.returncode}")
        )
    return json.loads(out)


def _start_serve(home: Path, clickhouse_url: str, bootstrap: str, cluster: str, n8n_url: str, dsn: str):
    from smarter_obs.demo.kafka_traffic import GROUPS
    from smarter_obs.demo.n8n_api import API_KEY

    ready = home / "serve.ready.json"
    ready.unlink(missing_ok=True)
    log = (home / "logs" / "serve.log").open("w")
    command = [
        sys.executable, "-m", "smarter_obs", "serve",
        "--listen", "127.0.0.1:0",
        "--health", "127.0.0.1:0",
        "--ready-file", str(ready),
        "--clickhouse", clickhouse_url,
        "--kafka-bootstrap", bootstrap,
        "--kafka-cluster-name", cluster,
        "--kafka-interval", "2s",
        "--kafka-topic", r"(shopify|whatsapp|n8n)\..*",
        *(arg for group in GROUPS for arg in ("--kafka-group", group.name)),
        "--n8n-url", n8n_url,
        "--n8n-instance", N8N_INSTANCE,
        "--n8n-interval", "2s",
        "--postgres", dsn,
        "--no-migrate",
    ]  # fmt: skip
    env = {**os.environ, "N8N_API_KEY": API_KEY}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()  # the child has its own descriptor
    deadline = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = (home / "logs" / "serve.log").read_text()[-2000:]
            raise SmarterObsError(
                f"smarter-obs serve did not start (log {home / 'logs' / 'serve.log'}):\n{tail}"
            )
        time.sleep(0.1)
    return process, json.loads(ready.read_text())


def _get_json(url: str) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # our own loopback URL
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503 = degraded, still a health document
        return json.loads(exc.read())


def _wait_n8n(health_url: str, dsn: str, expected: int, timeout: float = 120.0) -> int:
    from smarter_obs.sinks.postgres import connect

    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        n8n = _get_json(health_url)["components"].get("n8n", {})
        if n8n.get("status") == "failing":
            raise SmarterObsError(f"the n8n collector fails: {n8n.get('last_message')}")
        with connect(dsn) as conn:
            count = conn.execute(
                "SELECT count(*) FROM n8n_executions WHERE instance = %s", (N8N_INSTANCE,)
            ).fetchone()[0]
        if count >= expected:
            return count
        time.sleep(0.5)
    raise SmarterObsError(f"the n8n collector copied {count} of {expected} executions in {timeout:g}s")


def _business_rows(
    supabase_dsn: str, chatwoot_dsn: str, *, end: float, size: DemoSize, seed: int
) -> list[str]:
    """Supabase business rows and the Chatwoot data set, from the project's seeded generators.

    Their history is longer than the telemetry's (``size.business_days``): the user-growth cards compare
    30-day windows.
    """
    from datetime import UTC, datetime, timedelta

    from smarter_obs.seed import (
        create_chatwoot_schema,
        generate_business,
        generate_chatwoot,
        write_business,
        write_chatwoot,
    )
    from smarter_obs.sinks.postgres import connect

    first = (datetime.fromtimestamp(end, UTC) - timedelta(days=size.business_days - 1)).date()
    business = generate_business(
        seed=seed,
        start=first,
        days=size.business_days,
        profiles=size.profiles,
        checkouts_per_day=size.checkouts_per_day,
    )
    support = generate_chatwoot(
        seed=seed, start=first, days=size.business_days, conversations_per_day=size.conversations_per_day
    )
    with connect(supabase_dsn) as conn:
        written = write_business(conn, business)
    with connect(chatwoot_dsn) as conn:
        create_chatwoot_schema(conn)
        chatwoot = write_chatwoot(conn, support)
    return [
        f"Supabase: {', '.join(f'{n} {t}' for t, n in written.items())}",
        f"Chatwoot: {', '.join(f'{n} {t}' for t, n in chatwoot.items())}",
    ]


def _terminate(process: subprocess.Popen, timeout: float = 30.0) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def _stop(process: subprocess.Popen, timeout: float = 30.0) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SmarterObsError(f"smarter-obs serve did not stop within {timeout:g}s after SIGTERM") from None
    if code != 0:
        raise SmarterObsError(f"smarter-obs serve exited with {code} (queued spans may be lost)")
    return "serve stopped cleanly"


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def _run_cli(args: list[str], detail: Callable[[str], None], what: str, log: Path) -> None:
    """``smarter-obs ARGS`` in a child process; its messages shown, library log lines kept in ``log``."""
    process = subprocess.run([sys.executable, "-m", "smarter_obs", *args], capture_output=True, text=True)
    log.write_text((process.stdout or "") + (process.stderr or ""))
    for line in (process.stderr or "").splitlines():
        if line.strip() and not _LOG_LINE.match(line):
            detail(line)
    if process.returncode != 0:
        raise SmarterObsError(f"smarter-obs {what} failed (exit {process.returncode}); see {log}")


def _preview(
    output: Path, datasources: list[str], start: float, end: float, project: Path | None, detail, logs: Path
) -> None:
    """``smarter-obs build`` (it validates every dashboard first), then ``smarter-obs preview``."""
    from datetime import UTC, datetime

    def iso(ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    where = ["--project", str(project)] if project is not None else []
    _run_cli(["build", *where], detail, "build", logs / "build.log")
    detail("validated and built every dashboard (build/grafana/, build/metabase/)")
    command = ["preview", "--output", str(output), "--from", iso(start), "--to", iso(end), *where]
    for item in datasources:
        command += ["--datasource", item]
    _run_cli(command, detail, "preview", logs / "preview.log")
