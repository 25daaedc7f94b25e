"""SmarterOS assistant conversations: an ``mcp`` client calling the tool server, traced into the receiver.

One conversation is what the SmarterOS assistant does for one incoming WhatsApp message: classify it, look
things up, act, answer: a short sequence of tool calls in one trace (root span ``invoke_agent``, then the
SDK's CLIENT and SERVER spans per call). Conversations run concurrently on several client sessions; each is
anchored at a virtual start time drawn from :mod:`smarter_obs.demo.timeline` and moved there on export by
:class:`~smarter_obs.demo.backdate.BackdatingExporter`. Tracing is ``smarter_obs.init_tracing`` with the
standard OTLP/HTTP exporter pointed at the spans receiver, as any SmarterOS service would be configured.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smarter_obs.demo import timeline
from smarter_obs.demo.mcp_tools import TOOLS, Incident, ToolProfile, ToolRuntime, build_server

__all__ = ["SERVICE_NAME", "McpReport", "plan_conversations", "run_mcp_traffic"]

SERVICE_NAME = "smarteros-mcp"
TENANTS = ("ferreteria-don-pepe", "pasteleria-la-rosa", "bicicletas-sur", "optica-vision", "vinos-del-maule")

# What the assistant does for one message, as tool sequences (the rest of the calls are single tools
# drawn by weight, so every tool is called).
SCENARIOS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (5, ("ai_classify_intent", "shopify_order_lookup", "whatsapp_send_message")),
    (3, ("ai_classify_intent", "shopify_product_search", "shopify_inventory_level", "whatsapp_send_message")),
    (1, ("shopify_customer_lookup", "shopify_create_draft_order", "payment_link_create",
         "whatsapp_send_message")),
    (2, ("calendar_find_slots", "calendar_create_event", "whatsapp_send_template")),
    (2, ("knowledge_base_search", "chatwoot_thread_summary", "chatwoot_assign_agent", "chatwoot_add_label")),
    (1, ("chatwoot_thread_summary", "chatwoot_resolve_conversation")),
    (1, ("shopify_order_lookup", "shopify_refund_order", "email_send", "kafka_publish_event")),
    (1, ("drive_upload_file", "n8n_trigger_workflow")),
)  # fmt: skip


@dataclass
class Conversation:
    start: float  # virtual epoch seconds
    tenant: str
    calls: list[tuple[str, dict]]


@dataclass
class McpReport:
    calls: int = 0
    errors: int = 0
    conversations: int = 0
    per_tool: dict[str, list[int]] = field(default_factory=dict)  # tool → [calls, errors]
    seconds: float = 0.0


def _arguments(tool: ToolProfile, rng: random.Random) -> dict:
    samples = {
        str: lambda name: {
            "phone": f"+569{rng.randrange(10_000_000, 99_999_999)}",
            "order_number": f"#{rng.randrange(1001, 9999)}",
            "sku": f"SKU-{rng.randrange(100, 999)}",
            "day": f"2026-12-{rng.randrange(1, 28):02d}",
            "start": f"2026-12-{rng.randrange(1, 28):02d}T{rng.randrange(9, 19):02d}:00:00-03:00",
        }.get(name, f"{name}-{rng.randrange(1000)}"),
        int: lambda name: rng.randrange(1, 5000),
        float: lambda name: round(rng.uniform(5_000, 250_000), 0),
    }
    return {name: samples[kind](name) for name, kind in tool.params.items()}


def plan_conversations(
    calls: int, *, start: float, end: float, seed: int, tools: tuple[ToolProfile, ...] = TOOLS
) -> list[Conversation]:
    """Conversations holding exactly ``calls`` tool calls, spread over ``[start, end)`` (deterministic)."""
    rng = random.Random(seed)
    by_name = {t.name: t for t in tools}
    scenarios = [s for s in SCENARIOS if all(name in by_name for name in s[1])]
    weights = [w for w, _ in scenarios]
    sequences: list[tuple[str, ...]] = []
    total = 0
    while total < calls:
        if scenarios and rng.random() < 0.7:
            sequence = rng.choices([s for _, s in scenarios], weights)[0]
        else:
            sequence = (rng.choices(tools, [t.weight for t in tools])[0].name,)
        sequence = sequence[: calls - total]
        sequences.append(sequence)
        total += len(sequence)
    times = timeline.sample_times(rng, len(sequences), start, end)
    return [
        Conversation(
            when,
            rng.choice(TENANTS),
            [(name, _arguments(by_name[name], rng)) for name in sequence],
        )
        for when, sequence in zip(times, sequences, strict=True)
    ]


def incidents_for(start: float, end: float, seed: int) -> list[Incident]:
    """One degraded upstream in the busy part of the range (Shopify slow and failing for 90 minutes)."""
    rng = random.Random(seed + 1)
    middle = start + (end - start) * rng.uniform(0.55, 0.8)
    day = middle - middle % 86400
    at = day + 15 * 3600 + rng.randrange(0, 4) * 1800  # 12:00..13:30 Santiago time
    return [Incident("shopify", at, at + 5400)]


def run_mcp_traffic(
    otlp_url: str,
    *,
    calls: int,
    start: float,
    end: float,
    seed: int = 7,
    concurrency: int = 48,
    progress: Callable[[str], None] | None = None,
) -> McpReport:
    """Run the conversations against the tool server, exporting spans over OTLP to ``otlp_url``."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    import smarter_obs
    from smarter_obs.demo.backdate import BackdatingExporter

    # A failing tool is an expected outcome here: the SDK logs each with a traceback at ERROR.
    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    exporter = BackdatingExporter(OTLPSpanExporter(endpoint=otlp_url.rstrip("/") + "/v1/traces"))
    telemetry = smarter_obs.init_tracing(
        SERVICE_NAME, service_version="2.4.1", environment="demo", exporter=exporter
    )
    conversations = plan_conversations(calls, start=start, end=end, seed=seed)
    runtime = ToolRuntime(seed + 2, incidents_for(start, end, seed), now=exporter.virtual_now)
    app = build_server(runtime)
    report = McpReport(conversations=len(conversations))
    started = time.monotonic()
    try:
        asyncio.run(_drive(app, conversations, exporter, report, concurrency, progress))
    finally:
        telemetry.force_flush()
        smarter_obs.shutdown()
    report.seconds = time.monotonic() - started
    return report


async def _drive(app, conversations, exporter, report: McpReport, concurrency: int, progress) -> None:
    from mcp import Client
    from opentelemetry import trace

    tracer = trace.get_tracer("smarteros.assistant")
    queue: asyncio.Queue[Conversation] = asyncio.Queue()
    for conversation in conversations:
        queue.put_nowait(conversation)
    step = max(len(conversations) // 10, 1)
    done = [0]

    async def worker() -> None:
        async with Client(app) as client:
            while True:
                try:
                    conversation = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                real = time.time_ns()
                with tracer.start_as_current_span(
                    "invoke_agent smarteros-assistant",
                    start_time=real,
                    attributes={
                        "gen_ai.operation.name": "invoke_agent",
                        "gen_ai.agent.name": "smarteros-assistant",
                        "smarteros.tenant.id": conversation.tenant,
                    },
                ) as root:
                    exporter.anchor(root.get_span_context().trace_id, int(conversation.start * 1e9), real)
                    for name, arguments in conversation.calls:
                        result = await client.call_tool(name, arguments)
                        counts = report.per_tool.setdefault(name, [0, 0])
                        counts[0] += 1
                        counts[1] += bool(result.is_error)
                        report.calls += 1
                        report.errors += bool(result.is_error)
                done[0] += 1
                if progress and done[0] % step == 0:
                    progress(f"{done[0]}/{len(conversations)} conversations, {report.calls} tool calls")

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(conversations)) or 1)))
