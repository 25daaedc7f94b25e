"""The demo's traffic generators: the MCP tool set, backdated traces, the business-day timeline."""

from __future__ import annotations

import asyncio
import random

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smarter_obs.demo import timeline
from smarter_obs.demo.backdate import BackdatingExporter
from smarter_obs.demo.mcp_tools import TOOLS, Incident, ToolRuntime, build_server
from smarter_obs.demo.mcp_traffic import plan_conversations

DAY = 86400.0
END = 1_796_000_000.0


def test_backdating_moves_whole_traces_and_keeps_durations() -> None:
    memory = InMemorySpanExporter()
    exporter = BackdatingExporter(memory)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("root") as root:
        real = root.start_time
        exporter.anchor(root.get_span_context().trace_id, real - int(3 * DAY * 1e9), real)
        with tracer.start_as_current_span("child") as child:
            child.add_event("step")
    with tracer.start_as_current_span("elsewhere"):
        pass
    spans = {s.name: s for s in memory.get_finished_spans()}
    offset = int(3 * DAY * 1e9)
    assert spans["root"].start_time == real - offset
    assert spans["child"].start_time >= spans["root"].start_time
    assert spans["child"].events[0].timestamp <= spans["child"].end_time
    assert spans["child"].end_time - spans["child"].start_time >= 0
    assert spans["child"].parent.span_id == spans["root"].context.span_id
    assert abs(spans["elsewhere"].start_time - real) < 60e9  # not anchored: real time


def test_conversations_hold_exactly_the_calls_asked_over_the_range() -> None:
    plan = plan_conversations(500, start=END - 2 * DAY, end=END, seed=3)
    assert sum(len(c.calls) for c in plan) == 500
    assert all(END - 2 * DAY <= c.start < END for c in plan)
    assert plan == plan_conversations(500, start=END - 2 * DAY, end=END, seed=3)  # deterministic
    used = {name for c in plan for name, _ in c.calls}
    assert len(used) >= 20


def test_traffic_follows_the_business_day() -> None:
    times = timeline.sample_times(random.Random(1), 5000, END - 7 * DAY, END)
    local_hours = [int(((t + timeline.UTC_OFFSET_HOURS * 3600) % DAY) // 3600) for t in times]
    day = sum(9 <= h < 21 for h in local_hours)
    night = sum(h < 6 for h in local_hours)
    assert day > 0.7 * len(times) and night < 0.05 * len(times)


def test_the_server_lists_two_dozen_tools_and_failures_are_tool_errors() -> None:
    from mcp import Client

    runtime = ToolRuntime(1, [Incident("shopify", 0, 2e9, slowdown=0.01, failure_rate=1.0)])
    fast = tuple(t for t in TOOLS if t.median_ms < 100)
    app = build_server(runtime, TOOLS)

    async def go():
        async with Client(app) as client:
            listed = await client.list_tools()
            failed = await client.call_tool("shopify_inventory_level", {"sku": "SKU-1"})
            ok = await client.call_tool(
                fast[0].name, {p: (1 if t is int else "x") for p, t in fast[0].params.items()}
            )
            return listed, failed, ok

    listed, failed, ok = asyncio.run(go())
    assert len(listed.tools) == len(TOOLS) == 24
    assert failed.is_error  # the incident makes Shopify fail
    schema = next(t for t in listed.tools if t.name == "whatsapp_send_message").input_schema
    assert set(schema["properties"]) == {"phone", "text"}
    assert not ok.is_error and fast[0].name in str(ok.content)


def test_a_calls_outcome_does_not_depend_on_the_order_calls_run_in() -> None:
    from mcp import Client

    runtime = ToolRuntime(5, [Incident("shopify", 0, 2e9, slowdown=0.01, failure_rate=0.5)])
    app = build_server(runtime, TOOLS)
    orders = [f"#{n}" for n in range(1001, 1021)]

    async def outcomes(sequence: list[str]) -> dict[str, bool]:
        async with Client(app) as client:
            results = await asyncio.gather(
                *(client.call_tool("shopify_order_lookup", {"order_number": o}) for o in sequence)
            )
        return {o: r.is_error for o, r in zip(sequence, results, strict=True)}

    forward = asyncio.run(outcomes(orders))
    backward = asyncio.run(outcomes(orders[::-1]))
    assert forward == backward
    assert 0 < sum(forward.values()) < len(orders)  # the incident's 50 % failures: some of each
