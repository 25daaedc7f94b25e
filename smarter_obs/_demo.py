"""``smarter-obs demo``: the whole telemetry path on the embedded stores, end to end, in one process.

1. migrate the embedded ClickHouse (chDB) and PostgreSQL (pgserver) under ``.smarter-obs/``;
2. run a real MCP server (official ``mcp`` SDK) whose tools are traced with ``traced_tool`` and exported by
   ``init_tracing(exporter="clickhouse")`` into ``otel_traces`` (and the per-minute aggregate);
3. start librdkafka's mock Kafka cluster, produce to ``shopify.*``/``whatsapp.*``/``n8n.*`` topics, commit a
   consumer group part-way, and run two cycles of the Redpanda lag collector;
4. print what the dashboards will read, queried back from ClickHouse.

Synthetic traffic is generated from a fixed seed, so two runs print the same counts.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
from collections.abc import Callable
from typing import Any

TOOLS_SERVICE = "smarteros-mcp-demo"
TOPICS = {"shopify.orders": 120, "whatsapp.messages": 300, "n8n.events": 60}
GROUP = "n8n-workers"
DEMO_DATABASE = "smarter_obs_demo"


def run_demo(echo: Callable[[str], None], *, calls: int = 60, seed: int = 7) -> dict[str, Any]:
    """Run every step; ``echo`` receives progress and the final report lines. Returns the numbers shown."""
    from smarter_obs import settings
    from smarter_obs.sinks.clickhouse import default_url

    url = settings.CLICKHOUSE_URL.get() or default_url()
    # A database of its own, recreated on every run, so the numbers shown are this run's. The exporter
    # started by init_tracing reads the database from the environment like any service would.
    previous = os.environ.get(settings.CLICKHOUSE_DATABASE.env)
    os.environ[settings.CLICKHOUSE_DATABASE.env] = DEMO_DATABASE
    try:
        return _run(echo, url, calls=calls, seed=seed)
    finally:
        if previous is None:
            os.environ.pop(settings.CLICKHOUSE_DATABASE.env, None)
        else:
            os.environ[settings.CLICKHOUSE_DATABASE.env] = previous


def _run(echo: Callable[[str], None], url: str, *, calls: int, seed: int) -> dict[str, Any]:
    from smarter_obs import settings
    from smarter_obs.db.clickhouse import migrate as migrate_clickhouse
    from smarter_obs.db.postgres import migrate as migrate_postgres
    from smarter_obs.sinks.clickhouse import ClickHouseSink, parse_url

    echo(
        f"[1/4] migrating ClickHouse ({parse_url(url)}, database {DEMO_DATABASE}) and PostgreSQL "
        f"(embedded, {settings.home() / 'postgres'})"
    )
    with ClickHouseSink(url) as sink:
        sink.command(f"DROP DATABASE IF EXISTS {DEMO_DATABASE}")
    migrate_clickhouse(url)
    migrate_postgres(None)

    echo(f"[2/4] MCP server: {calls} tool calls traced into ClickHouse")
    tool_errors = _run_mcp_traffic(url, calls=calls, seed=seed)

    echo("[3/4] mock Kafka cluster: producing, committing, collecting lag twice")
    with ClickHouseSink(url) as sink:
        _run_kafka_traffic(sink, seed=seed)

        echo("[4/4] what the dashboards read:")
        tools = sink.query_rows(
            "SELECT ToolName, sum(Calls), sum(Errors),"
            " round(quantilesTDigestMerge(0.95)(DurationQuantiles)[1] / 1e6, 2)"
            " FROM {db:Identifier}.mcp_tool_calls_1m"
            " WHERE ServiceName = {service:String} AND SpanKind = 'Server'"
            " GROUP BY ToolName ORDER BY ToolName",
            {"db": sink.database, "service": TOOLS_SERVICE},
        )
        topics = sink.query_rows(
            "SELECT topic, sum(messages) FROM {db:Identifier}.kafka_partition_offsets"
            " WHERE topic IN {topics:Array(String)} GROUP BY topic ORDER BY topic",
            {"db": sink.database, "topics": list(TOPICS)},
        )
        lag = sink.query_rows(
            "SELECT topic, sum(lag), countIf(has_commit), count() FROM {db:Identifier}.kafka_consumer_lag"
            " WHERE consumer_group = {group:String}"
            " AND ts = (SELECT max(ts) FROM {db:Identifier}.kafka_consumer_lag"
            " WHERE consumer_group = {group:String})"
            " GROUP BY topic ORDER BY topic",
            {"db": sink.database, "group": GROUP},
        )
    echo(f"  MCP tools (service {TOOLS_SERVICE}):")
    echo(f"    {'tool':<16} {'calls':>6} {'errors':>6} {'p95 ms':>9}")
    for name, n, errors, p95 in tools:
        echo(f"    {name:<16} {n:>6d} {errors:>6d} {p95:>9.2f}")
    echo("  Messages produced per topic between the two collector cycles (end-offset deltas):")
    for topic, messages in topics:
        echo(f"    {topic:<20} {messages:>6d}")
    echo(f"  Consumer lag of group {GROUP!r} (latest cycle):")
    for topic, total, committed, partitions in lag:
        echo(f"    {topic:<20} lag {total:>5d}   committed partitions {committed}/{partitions}")
    echo(
        "Stores live under .smarter-obs/; run `smarter-obs db migrate --help` and "
        "`smarter-obs collect --help`."
    )
    return {"tools": tools, "topics": topics, "lag": lag, "tool_errors": tool_errors}


def _run_mcp_traffic(url: str, *, calls: int, seed: int) -> int:
    from mcp import Client
    from mcp.server.mcpserver import MCPServer

    import smarter_obs

    rng = random.Random(seed)
    # lookup_order fails on purpose for some ids; the SDK logs each such error with a traceback.
    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    app = MCPServer("smarteros-tools")

    @app.tool()
    @smarter_obs.traced_tool
    async def lookup_order(order_id: str) -> dict:
        """Look an order up in Shopify."""
        await asyncio.sleep(rng.uniform(0.001, 0.01))
        if order_id.endswith("0"):
            raise LookupError(f"order {order_id} not found")
        return {"order_id": order_id, "status": "paid"}

    @app.tool()
    @smarter_obs.traced_tool
    async def send_whatsapp(phone: str, text: str) -> str:
        """Send a WhatsApp message through Chatwoot."""
        await asyncio.sleep(rng.uniform(0.002, 0.02))
        return "queued"

    @app.tool()
    @smarter_obs.traced_tool
    def stock_level(sku: str) -> int:
        """Units in stock for a SKU."""
        return len(sku) * 7

    telemetry = smarter_obs.init_tracing(
        TOOLS_SERVICE, exporter="clickhouse", endpoint=url, environment="demo"
    )
    plan = [rng.choice(["lookup_order", "send_whatsapp", "stock_level"]) for _ in range(calls)]

    async def conversation() -> int:
        errors = 0
        async with Client(app) as client:
            for i, tool in enumerate(plan):
                arguments = {
                    "lookup_order": {"order_id": f"#{1000 + i}"},
                    "send_whatsapp": {"phone": "+56900000000", "text": "hola"},
                    "stock_level": {"sku": f"SKU-{i}"},
                }[tool]
                result = await client.call_tool(tool, arguments)
                errors += bool(result.is_error)
        return errors

    try:
        return asyncio.run(conversation())
    finally:
        telemetry.force_flush()
        smarter_obs.shutdown()


def _run_kafka_traffic(sink: Any, *, seed: int) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition

    from smarter_obs.collectors.redpanda_lag.collector import LagCollector
    from smarter_obs.collectors.redpanda_lag.config import GroupSelector, LagConfig, TopicSelector

    rng = random.Random(seed)
    owner = Producer({"test.mock.num.brokers": 3})  # the mock cluster lives as long as this producer
    brokers = owner.list_topics(timeout=10).brokers
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers.values())
    producer = Producer({"bootstrap.servers": bootstrap})

    def produce(share: float) -> None:
        for topic, count in TOPICS.items():
            for i in range(int(count * share)):
                producer.produce(topic, value=b"x", key=str(rng.randrange(1000)).encode(), partition=i % 4)
        producer.flush(10)

    config = LagConfig(
        bootstrap=bootstrap,
        cluster="demo",
        groups=GroupSelector.parse([GROUP]),
        topics=TopicSelector.parse([r"(shopify|whatsapp|n8n)\..*"]),
        timeout=10.0,
    )
    collector = LagCollector(config, sink)
    produce(0.5)
    collector.cycle()
    produce(0.5)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    commits = []
    for topic in TOPICS:
        for partition in range(4):
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            commits.append(TopicPartition(topic, partition, high - rng.randrange(0, max(high // 3, 1) + 1)))
    consumer.commit(offsets=commits, asynchronous=False)
    consumer.close()
    collector.cycle()
    # Clients first, the cluster last: otherwise librdkafka reports every broker disconnect.
    collector = producer = consumer = None
    gc.collect()
    owner.flush(1)
