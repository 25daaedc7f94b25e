"""Seeded OpenTelemetry SDK spans covering every column of otel_traces (kinds, statuses, events, links,
attribute types, trace state, parents). Shared by the exporter, mapping and receiver tests."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

# An hour ago rounded to the hour, plus nanosecond digits: recent enough for the tables' TTL.
BASE_NS = (int(time.time()) // 3600 - 1) * 3600 * 1_000_000_000 + 123_456_789
TOOLS = ("search_orders", "create_ticket", "get_weather", "refund")
KINDS = (SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER)


class SeededIds(IdGenerator):
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


def provider(
    seed: int, service: str = "mcp-tools", *exporters: SpanExporter, resource: dict | None = None
) -> TracerProvider:
    """A provider with seeded ids; ``resource`` adds attributes to its resource."""
    tp = TracerProvider(
        resource=Resource(
            {
                "service.name": service,
                "deployment.environment.name": "test",
                "host.cpus": 2,
                "service.weight": 0.5,
                **(resource or {}),
            }
        ),
        id_generator=SeededIds(seed),
    )
    for exporter in exporters:
        tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp


def emit(tp: TracerProvider, seed: int, count: int, *, minutes: int = 3) -> None:
    """``count`` finished spans on ``tp``: mostly MCP tool calls, some other MCP methods and plain spans."""
    rng = random.Random(seed)
    tracer = tp.get_tracer("mcp-python-sdk", "2.3.0")
    other = tp.get_tracer("shop.checkout")
    for i in range(count):
        start = BASE_NS + rng.randrange(minutes * 60_000_000_000)
        duration = rng.randrange(1_000, 3_000_000_000)
        roll = rng.random()
        if roll < 0.7:
            tool = rng.choice(TOOLS)
            attributes = {
                "mcp.method.name": "tools/call",
                "gen_ai.tool.name": tool,
                "gen_ai.operation.name": "execute_tool",
                "jsonrpc.request.id": str(i),
                "mcp.protocol.version": "2025-06-18",
            }
            span = tracer.start_span(
                f"tools/call {tool}",
                kind=rng.choice((SpanKind.SERVER, SpanKind.CLIENT)),
                attributes=attributes,
                start_time=start,
            )
        elif roll < 0.8:
            span = tracer.start_span(
                "tools/list",
                kind=SpanKind.SERVER,
                start_time=start,
                attributes={"mcp.method.name": "tools/list"},
            )
        else:
            parent = SpanContext(
                rng.getrandbits(128) or 1,
                rng.getrandbits(64) or 1,
                is_remote=True,
                trace_flags=TraceFlags(1),
                trace_state=TraceState([("vendor", f"v{i}")]),
            )
            from opentelemetry import trace

            links = [
                Link(
                    SpanContext(
                        rng.getrandbits(128) or 1,
                        rng.getrandbits(64) or 1,
                        is_remote=True,
                        trace_state=TraceState([("k", "v")]),
                    ),
                    {"link.n": i, "ok": True},
                )
            ]
            span = other.start_span(
                "checkout",
                kind=rng.choice(KINDS),
                start_time=start,
                links=links,
                context=trace.set_span_in_context(trace.NonRecordingSpan(parent)),
                attributes={
                    "int": rng.randrange(-(10**12), 10**12),
                    "float": rng.choice((2.0, 0.1, 1e21, -3.25)),
                    "bool": rng.random() < 0.5,
                    "strs": ("a", 'b"c'),
                    "ints": (1, 2, 3),
                    "floats": (1.5, 2.0),
                    "bools": (True, False),
                    "unicode": "ñandú ✓",
                },
            )
        if rng.random() < 0.3:
            span.add_event(
                "retry", {"attempt": rng.randrange(5), "reason": "timeout"}, timestamp=start + duration // 2
            )
            span.add_event("done", timestamp=start + duration - 1)
        status_roll = rng.random()
        if status_roll < 0.2:
            span.set_attribute("error.type", rng.choice(("tool_error", "-32602")))
            span.set_status(Status(StatusCode.ERROR, "tool failed"))
        elif status_roll < 0.5:
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=start + duration)


def make_spans(
    seed: int, count: int, service: str = "mcp-tools", *, resource: dict | None = None
) -> Sequence[ReadableSpan]:
    memory = InMemorySpanExporter()
    tp = provider(seed, service, memory, resource=resource)
    emit(tp, seed, count)
    tp.shutdown()
    return memory.get_finished_spans()
