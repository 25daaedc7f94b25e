"""The dashboards' seeded data set, written through the real paths, and the truth it was built from.

- Spans: OpenTelemetry SDK spans (fixed ids and times) → ``ClickHouseSpanExporter`` → ``otel_traces`` →
  the materialized view → ``mcp_tool_calls_1m``.
- Lag: real producers and consumer-group commits on librdkafka's mock cluster, read by the lag
  collector (``LagCollector.cycle`` on a simulated clock) → its ClickHouse sink → the ``kafka_*`` tables.
- n8n: n8n API items (the public API's shapes) → the collector's row mapping (``rows.workflow_row`` /
  ``rows.execution_row``) → its change-only upsert → ``n8n_workflows`` / ``n8n_executions``.

Each seeder returns what it generated as plain Python data; the tests compute every panel's numbers from
that, independently of ClickHouse and PostgreSQL. Deterministic (fixed seeds, fixed times). Collector
internals are imported here only, so a module rename touches one file.
"""

from __future__ import annotations

import gc
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# -- spans ------------------------------------------------------------------------------------------------

SPAN_START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday; spans cover the 24 hours after it
SPAN_HOURS = 24
#: (service, tool) → (calls, error probability, median latency ms, log sigma). 12 tools so "Top 10" cuts.
TOOLS = {
    ("smarteros-mcp", "whatsapp_send"): (1500, 0.02, 120, 0.5),
    ("smarteros-mcp", "shopify_order_lookup"): (1400, 0.05, 80, 0.6),
    ("smarteros-mcp", "calendar_event_create"): (600, 0.01, 200, 0.4),
    ("smarteros-mcp", "drive_upload"): (400, 0.08, 900, 0.7),
    ("smarteros-mcp", "thread_summary"): (900, 0.03, 1500, 0.5),
    ("smarteros-mcp", "order_refund"): (250, 0.2, 300, 0.5),
    ("smarteros-mcp", "stock_level"): (1100, 0.0, 25, 0.3),
    ("smarteros-mcp", "catalog_search"): (800, 0.01, 60, 0.4),
    ("smarteros-mcp", "invoice_pdf"): (150, 0.04, 700, 0.6),
    ("crm-mcp", "crm_contact_upsert"): (700, 0.03, 90, 0.5),
    ("crm-mcp", "ticket_create"): (500, 0.06, 150, 0.5),
    ("crm-mcp", "faq_search"): (300, 0.0, 40, 0.3),
}
AGENT_SERVICE = "smarteros-agent"  # GenAI execute_tool spans (INTERNAL), named by gen_ai.tool.name
AGENT_TOOLS = {"thread_summary": 200, "faq_search": 150}


@dataclass(frozen=True)
class ToolCall:
    """One tool-call span as the dashboards define it."""

    service: str
    tool: str
    kind: str  # "Server" | "Client" | "Internal"
    start: datetime
    duration_ns: int
    error: bool
    status: str  # StatusCode as stored: Unset | Ok | Error
    trace_id: str
    span_id: str
    message: str

    @property
    def duration_ms(self) -> float:
        return self.duration_ns / 1e6


@dataclass
class SpanData:
    calls: list[ToolCall] = field(default_factory=list)
    other_spans: int = 0
    start: datetime = SPAN_START
    end: datetime = SPAN_START + timedelta(hours=SPAN_HOURS)


class _SeededIds:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


def _span_times(rng: random.Random, start: datetime, seconds: int) -> int:
    base = int(start.timestamp()) * 1_000_000_000
    return base + rng.randrange(seconds * 1_000_000_000)


def make_spans(seed: int = 11) -> tuple[list[Any], SpanData]:
    """SDK spans (finished, with fixed ids and times) and the tool calls they are."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.trace import SpanKind, Status, StatusCode

    class Ids(_SeededIds, IdGenerator):
        pass

    rng = random.Random(seed)
    memory = InMemorySpanExporter()
    providers: dict[str, TracerProvider] = {}

    def tracer(service: str):
        if service not in providers:
            provider = TracerProvider(
                resource=Resource({"service.name": service, "deployment.environment.name": "test"}),
                id_generator=Ids(seed + len(providers)),
            )
            provider.add_span_processor(SimpleSpanProcessor(memory))
            providers[service] = provider
        return providers[service].get_tracer("mcp-python-sdk", "2.3.0")

    data = SpanData()
    seconds = SPAN_HOURS * 3600
    plan: list[tuple[str, str, str]] = []
    for (service, tool), (calls, *_rest) in TOOLS.items():
        plan += [(service, tool, "Server")] * calls
        plan += [(service, tool, "Client")] * (calls // 10)  # the client side of some calls
    for tool, calls in AGENT_TOOLS.items():
        plan += [(AGENT_SERVICE, tool, "Internal")] * calls
    rng.shuffle(plan)
    kinds = {"Server": SpanKind.SERVER, "Client": SpanKind.CLIENT, "Internal": SpanKind.INTERNAL}
    for index, (service, tool, kind) in enumerate(plan):
        key = (service, tool) if (service, tool) in TOOLS else next(k for k in TOOLS if k[1] == tool)
        _calls, error_rate, median_ms, sigma = TOOLS[key]
        start = _span_times(rng, SPAN_START, seconds)
        duration = max(int(rng.lognormvariate(0, sigma) * median_ms * 1e6) + rng.randrange(1000), 1000)
        error = rng.random() < error_rate
        if kind == "Internal":  # GenAI tool execution span
            name = f"execute_tool {tool}"
            attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
        elif index % 7 == 0:  # MCP span without gen_ai.tool.name: the name carries the tool
            name = f"tools/call {tool}"
            attributes = {"mcp.method.name": "tools/call", "jsonrpc.request.id": str(index)}
        else:
            name = f"tools/call {tool}"
            attributes = {
                "mcp.method.name": "tools/call",
                "gen_ai.tool.name": tool,
                "gen_ai.operation.name": "execute_tool",
                "jsonrpc.request.id": str(index),
            }
        span = tracer(service).start_span(name, kind=kinds[kind], attributes=attributes, start_time=start)
        message, status = "", "Unset"
        if error:
            message, status = f"{tool} failed", "Error"
            span.set_attribute("error.type", "tool_error")
            span.set_status(Status(StatusCode.ERROR, message))
        elif rng.random() < 0.3:
            status = "Ok"
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=start + duration)
        context = span.get_span_context()
        data.calls.append(
            ToolCall(
                service=service,
                tool=tool,
                kind=kind,
                start=datetime.fromtimestamp(start // 1_000_000_000, UTC)
                + timedelta(microseconds=(start % 1_000_000_000) // 1000),
                duration_ns=duration,
                error=error,
                status=status,
                trace_id=f"{context.trace_id:032x}",
                span_id=f"{context.span_id:016x}",
                message=message,
            )
        )
    # Spans that are not tool calls: the panels must leave them out.
    for index in range(600):
        start = _span_times(rng, SPAN_START, seconds)
        if index % 2:
            span = tracer("smarteros-mcp").start_span(
                "tools/list",
                kind=SpanKind.SERVER,
                start_time=start,
                attributes={"mcp.method.name": "tools/list"},
            )
        else:
            span = tracer("shop-api").start_span("checkout", kind=SpanKind.SERVER, start_time=start)
        span.end(end_time=start + rng.randrange(1_000_000, 5_000_000_000))
        data.other_spans += 1
    for provider in providers.values():
        provider.shutdown()
    return list(memory.get_finished_spans()), data


def seed_spans(url: str, database: str, seed: int = 11) -> SpanData:
    """Write the spans through the ClickHouse exporter; return the tool calls."""
    from smarter_obs.exporters.clickhouse import ClickHouseSpanExporter

    spans, data = make_spans(seed)
    exporter = ClickHouseSpanExporter(url, database=database)
    try:
        result = exporter.export(spans)
        exporter.force_flush()
    finally:
        exporter.shutdown()
    if result.name != "SUCCESS":
        raise RuntimeError(f"the exporter did not write the seeded spans: {result}")
    return data


# -- Kafka lag --------------------------------------------------------------------------------------------

LAG_START = datetime(2025, 1, 6, 10, tzinfo=UTC)
LAG_INTERVAL = 30  # seconds between collection cycles
LAG_CYCLES = 40
CLUSTER = "smarteros"
TOPICS = {
    "shopify.orders": 6,
    "shopify.checkouts": 3,
    "whatsapp.messages": 6,
    "whatsapp.status": 2,
    "n8n.events": 4,
}
#: group → topics it consumes; the behaviour of each is set in :func:`seed_kafka`.
GROUPS = {
    "n8n-workers": ("shopify.orders", "n8n.events"),  # keeps up: lag 0
    "chatwoot-sync": ("whatsapp.messages", "whatsapp.status"),  # falls further behind every 6 cycles: WARN
    "analytics": ("shopify.orders", "shopify.checkouts"),  # stops committing half way: STALL → ERR
    "reporting": (),  # never commits: NOTFOUND on every topic
}
STALL_AFTER = 20  # cycle from which "analytics" commits nothing new


@dataclass
class KafkaData:
    """What was produced and committed at each cycle, and the leaders."""

    times: list[datetime] = field(default_factory=list)
    #: ends[k][(topic, partition)]: the log end offset read at cycle k
    ends: list[dict[tuple[str, int], int]] = field(default_factory=list)
    #: commits[k][group][(topic, partition)]: the committed offset at cycle k (no key: never committed)
    commits: list[dict[str, dict[tuple[str, int], int]]] = field(default_factory=list)
    #: the cycle whose end offset a commit equals (commit_cycle[k][group][key] = j: commit == ends[j][key])
    commit_cycle: list[dict[str, dict[tuple[str, int], int]]] = field(default_factory=list)
    leaders: list[dict[tuple[str, int], int]] = field(default_factory=list)

    def lag(self, k: int, group: str, key: tuple[str, int]) -> int | None:
        committed = self.commits[k][group].get(key)
        return None if committed is None else max(self.ends[k][key] - committed, 0)


def _leader(topic: str, partition: int, k: int) -> int:
    # Spread leaders over brokers 1-3, and move whatsapp.messages partition 0 to broker 3 half way.
    if topic == "whatsapp.messages" and partition == 0 and k >= LAG_CYCLES // 2:
        return 3
    return 1 + (sum(map(ord, topic)) + partition) % 3


def seed_kafka(url: str, database: str, seed: int = 5) -> KafkaData:
    """Produce, commit and collect ``LAG_CYCLES`` cycles on the mock cluster; return what happened."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    from smarter_obs.collectors.redpanda_lag.collector import LagCollector
    from smarter_obs.collectors.redpanda_lag.config import GroupSelector, LagConfig, TopicSelector
    from smarter_obs.sinks.clickhouse import ClickHouseSink
    from tests.collectors.redpanda_lag.mock_cluster import MockCluster

    rng = random.Random(seed)
    quiet = {"log_level": 2}
    data = KafkaData()
    now = [LAG_START.timestamp()]
    with MockCluster(brokers=3) as cluster:
        for topic, partitions in TOPICS.items():
            cluster.create_topic(topic, partitions)
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 0, **quiet})
        consumers = {
            group: Consumer(
                {
                    "bootstrap.servers": cluster.bootstrap,
                    "group.id": group,
                    "enable.auto.commit": False,
                    **quiet,
                }
            )
            for group in GROUPS
        }
        sink = ClickHouseSink(url, database=database)
        config = LagConfig(
            bootstrap=cluster.bootstrap,
            cluster=CLUSTER,
            groups=GroupSelector.parse(list(GROUPS)),
            topics=TopicSelector.parse([r"(shopify|whatsapp|n8n)\..*"]),
            timeout=10.0,
        )
        collector = LagCollector(config, sink, clock=lambda: now[0])
        ends = {(t, p): 0 for t, n in TOPICS.items() for p in range(n)}
        try:
            for k in range(LAG_CYCLES):
                leaders = {key: _leader(*key, k) for key in ends}
                for (topic, partition), broker in leaders.items():
                    if k == 0 or leaders[(topic, partition)] != data.leaders[-1][(topic, partition)]:
                        cluster.set_leader(topic, partition, broker)
                for topic, partition in ends:
                    # whatsapp topics grow steadily (so chatwoot-sync's lag never decreases), others vary
                    count = 3 if topic.startswith("whatsapp.") else rng.randint(1, 6)
                    for i in range(count):
                        producer.produce(topic, value=b"m%d" % i, partition=partition)
                    ends[(topic, partition)] += count
                assert producer.flush(10) == 0
                data.ends.append(dict(ends))
                data.leaders.append(leaders)
                commits: dict[str, dict[tuple[str, int], int]] = {}
                sources: dict[str, dict[tuple[str, int], int]] = {}
                for group, topics in GROUPS.items():
                    keys = [key for key in ends if key[0] in topics]
                    if group == "n8n-workers":
                        source = k
                    elif group == "chatwoot-sync":
                        source = max(k - 1 - k // 6, 0)
                    elif group == "analytics":
                        source = min(k, STALL_AFTER) - 1
                    else:
                        source = -1
                    if source < 0 or not keys:
                        commits[group], sources[group] = {}, {}
                        continue
                    offsets = {key: data.ends[source][key] for key in keys}
                    consumers[group].commit(
                        offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
                    )
                    commits[group] = offsets
                    sources[group] = dict.fromkeys(keys, source)
                data.commits.append(commits)
                data.commit_cycle.append(sources)
                now[0] = LAG_START.timestamp() + k * LAG_INTERVAL
                data.times.append(datetime.fromtimestamp(now[0], UTC))
                outcome = collector.cycle()
                if not outcome.ok:
                    raise RuntimeError(f"lag collector cycle {k} failed: {outcome.message}")
        finally:
            for consumer in consumers.values():
                consumer.close()
            producer.flush(1)
            sink.close()
            # clients before the cluster, or librdkafka reports every broker going away
            del producer, consumers, collector
            gc.collect()
    return data


# -- n8n --------------------------------------------------------------------------------------------------

N8N_START = datetime(2025, 1, 6, tzinfo=UTC)
N8N_DAYS = 7
#: instance → workflow id → (name, trigger node types)
WORKFLOWS = {
    "n8n.smarterbot.cl": {
        "101": ("Shopify order → WhatsApp", ["n8n-nodes-base.kafkaTrigger"]),
        "102": ("Chatwoot webhook intake", ["n8n-nodes-base.webhook"]),
        "103": ("Nightly catalog sync", ["n8n-nodes-base.scheduleTrigger"]),
        "104": ("Manual refund", ["n8n-nodes-base.manualTrigger"]),
        "105": (
            "Lead form (webhook + daily digest)",
            ["n8n-nodes-base.webhook", "n8n-nodes-base.scheduleTrigger"],
        ),
        "106": ("Gmail triage", ["n8n-nodes-base.gmailTrigger"]),
    },
    "n8n-staging": {
        "201": ("Shopify order → WhatsApp (staging)", ["n8n-nodes-base.kafkaTrigger"]),
        "202": ("Smoke test", ["n8n-nodes-base.manualTrigger"]),
    },
}
EXECUTIONS = 3000


@dataclass(frozen=True)
class Execution:
    instance: str
    id: str
    workflow_id: str
    status: str
    mode: str
    trigger_source: str
    started_at: datetime
    stopped_at: datetime | None

    @property
    def duration_ms(self) -> int | None:
        if self.stopped_at is None:
            return None
        return round((self.stopped_at - self.started_at).total_seconds() * 1000)


@dataclass
class N8nData:
    executions: list[Execution] = field(default_factory=list)
    workflows: dict[tuple[str, str], str] = field(default_factory=dict)  # (instance, id) → name
    start: datetime = N8N_START
    end: datetime = N8N_START + timedelta(days=N8N_DAYS)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _workflow_item(workflow_id: str, name: str, types: list[str]) -> dict[str, Any]:
    nodes = [
        {"id": f"n{i}", "name": f"Trigger {i}", "type": node_type, "typeVersion": 1, "position": [0, 0],
         "parameters": {}}
        for i, node_type in enumerate(types)
    ] + [{"id": "x", "name": "Do it", "type": "n8n-nodes-base.set", "typeVersion": 1, "position": [0, 0],
          "parameters": {}}]  # fmt: skip
    return {
        "id": workflow_id,
        "name": name,
        "active": True,
        "isArchived": False,
        "nodes": nodes,
        "connections": {},
        "settings": {},
        "createdAt": "2024-12-01T00:00:00.000Z",
        "updatedAt": "2024-12-20T00:00:00.000Z",
    }


_NODE_KINDS = {
    "kafkaTrigger": "kafka",
    "webhook": "webhook",
    "scheduleTrigger": "schedule",
    "manualTrigger": "manual",
    "gmailTrigger": "other",
}


def expected_trigger(mode: str, types: list[str]) -> str:
    """The trigger source docs/n8n.md defines, for the workflows above (independent of the collector)."""
    kinds = {_NODE_KINDS[t.rsplit(".", 1)[-1]] for t in types}
    real = (kinds - {"manual"}) or kinds
    workflow_kind = next(iter(real)) if len(real) == 1 else "other"
    if mode in ("webhook", "manual"):
        return mode
    if mode == "trigger":
        scheduled = kinds - {"webhook", "manual"}
        return next(iter(scheduled)) if len(scheduled) == 1 else "other"
    if mode == "retry":
        return workflow_kind
    return "other"


def _mode(rng: random.Random, types: list[str]) -> str:
    kinds = {t.rsplit(".", 1)[-1] for t in types}
    roll = rng.random()
    if roll < 0.05:
        return "retry"
    if roll < 0.08:
        return "manual"
    if roll < 0.1:
        return "error"  # an error workflow run: trigger source "other"
    if "webhook" in kinds and (len(kinds) == 1 or rng.random() < 0.5):
        return "webhook"
    if kinds == {"manualTrigger"}:
        return "manual"
    return "trigger"


def seed_n8n(dsn: str, seed: int = 3) -> N8nData:
    """Upsert workflows and executions through the n8n collector's mapping and upsert."""
    from smarter_obs.collectors.n8n import rows
    from smarter_obs.db.postgres import migrate
    from smarter_obs.sinks.postgres import connect, upsert

    migrate(dsn)
    rng = random.Random(seed)
    data = N8nData()
    workflow_rows, execution_rows = [], []
    types_by_instance: dict[str, dict[str, list[str]]] = {}
    for instance, workflows in WORKFLOWS.items():
        types_by_instance[instance] = {}
        for workflow_id, (name, types) in workflows.items():
            row = rows.workflow_row(_workflow_item(workflow_id, name, types), instance=instance, where="seed")
            workflow_rows.append(row)
            types_by_instance[instance][workflow_id] = row[rows.WORKFLOW_COLUMNS.index("trigger_types")]
            data.workflows[(instance, workflow_id)] = name
    statuses = ["success"] * 80 + ["error"] * 12 + ["crashed"] * 2 + ["canceled"] * 2 + ["waiting"] * 2
    statuses += ["running"] * 2
    all_workflows = [(i, w, t) for i, ws in WORKFLOWS.items() for w, (_n, t) in ws.items()]
    weights = [12, 10, 3, 1, 4, 2, 5, 1]
    span = N8N_DAYS * 86400
    for index in range(EXECUTIONS):
        instance, workflow_id, types = rng.choices(all_workflows, weights=weights)[0]
        status = rng.choice(statuses)
        started = N8N_START + timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))
        duration = timedelta(milliseconds=int(rng.lognormvariate(7, 1.0)))
        stopped = None if status == "running" else started + duration
        item = {
            "id": str(1000 + index),
            "finished": status == "success",
            "mode": _mode(rng, types),
            "retryOf": None,
            "retrySuccessId": None,
            "startedAt": _iso(started),
            "stoppedAt": _iso(stopped),
            "workflowId": workflow_id,
            "waitTill": _iso(started + timedelta(hours=1)) if status == "waiting" else None,
            "status": status,
        }
        row = rows.execution_row(
            item, instance=instance, workflow_types=types_by_instance[instance], where="seed"
        )
        execution_rows.append(row)
        data.executions.append(
            Execution(
                instance=instance,
                id=item["id"],
                workflow_id=workflow_id,
                status=status,
                mode=item["mode"],
                trigger_source=expected_trigger(item["mode"], types),
                started_at=started.replace(microsecond=started.microsecond // 1000 * 1000),
                stopped_at=None
                if stopped is None
                else stopped.replace(microsecond=stopped.microsecond // 1000 * 1000),
            )
        )
    with connect(dsn) as conn, conn.transaction():
        upsert(
            conn, rows.WORKFLOW_TABLE, rows.WORKFLOW_COLUMNS, workflow_rows, key=rows.KEY, touch="synced_at"
        )
        upsert(
            conn,
            rows.EXECUTION_TABLE,
            rows.EXECUTION_COLUMNS,
            execution_rows,
            key=rows.KEY,
            touch="synced_at",
        )
    return data
