"""MCP tool spans: semantic conventions, errors, opt-in arguments, no duplicate SERVER spans (real mcp SDK),
and a per-call cost no higher than the bare SDK's."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import smarter_obs
from smarter_obs.testing import CapturedSpans
from smarter_obs.tracing._mcp import MAX_ARGUMENTS_CHARS


def test_tool_span_follows_the_mcp_semantic_conventions(capture_spans: CapturedSpans) -> None:
    with smarter_obs.tool_span("get-weather", session_id="s-1", request_id=7):
        pass
    assert capture_spans.as_dicts() == [
        {
            "name": "tools/call get-weather",
            "kind": "SERVER",
            "trace": 1,
            "span": 1,
            "parent": None,
            "status": "UNSET",
            "attributes": {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get-weather",
                "jsonrpc.request.id": "7",
                "mcp.method.name": "tools/call",
                "mcp.session.id": "s-1",
            },
        }
    ]


def test_an_exception_sets_error_type_and_status_and_is_reraised(capture_spans: CapturedSpans) -> None:
    with pytest.raises(KeyError), smarter_obs.tool_span("lookup"):
        raise KeyError("sku")
    (span,) = capture_spans.as_dicts()
    assert span["status"] == "ERROR"
    assert span["attributes"]["error.type"] == "KeyError"
    assert span["events"][0]["name"] == "exception"
    assert span["events"][0]["attributes"]["exception.type"] == "KeyError"


def test_arguments_are_recorded_only_when_asked_and_truncated(capture_spans: CapturedSpans) -> None:
    @smarter_obs.traced_tool
    def search(query: str, limit: int = 5) -> list[str]:
        return [query] * limit

    @smarter_obs.traced_tool(name="search-logged", record_arguments=True)
    def search_logged(query: str, limit: int = 5) -> list[str]:
        return [query]

    search("secret customer email", limit=2)
    search_logged("shoes", limit=3)
    with smarter_obs.tool_span("bulk", arguments={"ids": list(range(5000))}):
        pass
    plain, logged, bulk = capture_spans.as_dicts()
    assert "gen_ai.tool.call.arguments" not in plain["attributes"]
    assert logged["name"] == "tools/call search-logged"
    assert logged["attributes"]["gen_ai.tool.call.arguments"] == '{"limit": 3, "query": "shoes"}'
    text = bulk["attributes"]["gen_ai.tool.call.arguments"]
    assert len(text) == MAX_ARGUMENTS_CHARS and text.endswith("…")


def test_traced_tool_keeps_the_signature_and_works_for_async(capture_spans: CapturedSpans) -> None:
    async def fetch(order_id: int, *, verbose: bool = False) -> dict:
        """Fetch an order."""
        await asyncio.sleep(0)
        if order_id < 0:
            raise ValueError("negative id")
        return {"id": order_id}

    traced = smarter_obs.traced_tool(fetch)
    assert inspect.signature(traced) == inspect.signature(fetch)
    assert traced.__doc__ == "Fetch an order." and traced.__name__ == "fetch"
    assert inspect.iscoroutinefunction(traced)
    assert asyncio.run(traced(3)) == {"id": 3}
    with pytest.raises(ValueError, match="negative id"):
        asyncio.run(traced(-1))
    ok, failed = capture_spans.as_dicts()
    assert (ok["name"], ok["status"]) == ("tools/call fetch", "UNSET")
    assert (failed["status"], failed["attributes"]["error.type"]) == ("ERROR", "ValueError")


def test_nested_helpers_for_the_same_tool_make_one_span(capture_spans: CapturedSpans) -> None:
    @smarter_obs.traced_tool(name="lookup")
    def lookup() -> str:
        with smarter_obs.tool_span("lookup", session_id="abc"), smarter_obs.tool_span("other-tool"):
            return "ok"

    lookup()
    spans = capture_spans.as_dicts()
    assert [(s["name"], s["parent"]) for s in spans] == [
        ("tools/call other-tool", 1),
        ("tools/call lookup", None),
    ]
    assert spans[1]["attributes"]["mcp.session.id"] == "abc"


def test_real_mcp_server_and_client_give_exactly_one_server_span_per_tool_call(
    capture_spans: CapturedSpans,
) -> None:
    app = MCPServer("smarteros-tools")

    @app.tool()
    @smarter_obs.traced_tool
    async def add(a: int, b: int, ctx: Context) -> int:
        """Add two numbers."""
        return a + b

    @app.tool(name="stock")
    @smarter_obs.traced_tool(name="stock", record_arguments=True)
    def stock_level(sku: str) -> int:
        """Units in stock for a SKU."""
        if sku == "missing":
            raise LookupError(sku)
        return 42

    @app.tool()
    def plain(text: str) -> str:
        with smarter_obs.tool_span("plain", session_id="session-9"):
            return text.upper()

    async def conversation() -> list:
        async with Client(app) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            results = [
                await client.call_tool("add", {"a": 2, "b": 3}),
                await client.call_tool("stock", {"sku": "A-1"}),
                await client.call_tool("stock", {"sku": "missing"}),
                await client.call_tool("plain", {"text": "hi"}),
            ]
            return [tools, results]

    tools, results = asyncio.run(conversation())
    # The wrapper kept the signature: the server derived the right input schemas from it.
    assert set(tools["add"].input_schema["properties"]) == {"a", "b"}
    assert tools["stock"].description == "Units in stock for a SKU."
    assert [r.is_error for r in results] == [False, False, True, False]
    assert results[0].structured_content == {"result": 5}

    calls = [s for s in capture_spans.as_dicts() if s["attributes"].get("mcp.method.name") == "tools/call"]
    assert [s["name"] for s in calls] == [
        "tools/call add",
        "tools/call stock",
        "tools/call stock",
        "tools/call plain",
    ]
    assert all(s["kind"] == "SERVER" for s in calls)
    server_spans = [s for s in capture_spans.as_dicts() if s["kind"] == "SERVER"]
    assert len(server_spans) == len([s for s in server_spans if not s["name"].startswith("tools/call")]) + 4
    for span in calls:
        attrs = span["attributes"]
        assert attrs["gen_ai.operation.name"] == "execute_tool"
        assert attrs["jsonrpc.request.id"]
        assert attrs["mcp.method.name"] == "tools/call"
    add_attrs, stock_ok, stock_missing, plain_call = (s["attributes"] for s in calls)
    assert add_attrs["gen_ai.tool.name"] == "add" and "gen_ai.tool.call.arguments" not in add_attrs
    assert stock_ok["gen_ai.tool.call.arguments"] == '{"sku": "A-1"}'
    assert plain_call["mcp.session.id"] == "session-9"
    # The SDK owns the span and applies the semconv value for an isError result; our helper recorded the
    # exception (class name in the exception event) on that same span before the SDK converted it.
    assert calls[2]["status"] == "ERROR" and stock_missing["error.type"] == "tool_error"
    assert [e["attributes"]["exception.type"] for e in calls[2]["events"]] == ["LookupError"]


class _NullExporter(SpanExporter):
    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _calls_made(fn: Callable[..., object], *args: object) -> int:
    """Python and C function calls made by one ``fn(*args)`` on this thread (after a warm-up call)."""
    fn(*args)
    calls = [0]

    def profile(frame: object, event: str, arg: object) -> None:
        if event in ("call", "c_call"):
            calls[0] += 1

    sys.setprofile(profile)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return calls[0]


def test_a_traced_tool_call_does_no_more_work_than_the_bare_sdk() -> None:
    # The hot path of every tool call: a count of function calls is a deterministic measure of its cost
    # (bench/bench_tracing.py measures the time). The bare SDK: TracerProvider + BatchSpanProcessor,
    # span `tools/call t`, kind SERVER, the three MCP attributes.
    bare_provider = TracerProvider()
    bare_provider.add_span_processor(BatchSpanProcessor(_NullExporter(), schedule_delay_millis=60_000))
    tracer = bare_provider.get_tracer("bare")

    def bare_tool(value: int) -> int:
        with tracer.start_as_current_span(
            "tools/call t",
            kind=trace.SpanKind.SERVER,
            attributes={
                "mcp.method.name": "tools/call",
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "t",
            },
        ):
            return value

    smarter_obs.init_tracing("svc", exporter=_NullExporter())

    @smarter_obs.traced_tool(name="t")
    def tool(value: int) -> int:
        return value

    bare = _calls_made(bare_tool, 1)
    assert _calls_made(tool, 1) <= bare
    assert _calls_made(lambda: tool(value=1)) <= bare + 1  # + the lambda
    bare_provider.shutdown()


def test_the_signature_is_bound_per_call_only_for_tools_that_record_arguments(
    capture_spans: CapturedSpans, monkeypatch: pytest.MonkeyPatch
) -> None:
    binds = []
    real_bind = inspect.Signature.bind_partial
    monkeypatch.setattr(
        inspect.Signature, "bind_partial", lambda *a, **k: binds.append(1) or real_bind(*a, **k)
    )

    @smarter_obs.traced_tool
    def plain(query: str, limit: int = 5) -> str:
        return query

    @smarter_obs.traced_tool(record_arguments=True)
    def logged(query: str, limit: int = 5) -> str:
        return query

    plain("a", 2)
    assert binds == []
    logged("b", 3)
    assert binds == [1]
    assert (
        capture_spans.as_dicts()[1]["attributes"]["gen_ai.tool.call.arguments"]
        == '{"limit": 3, "query": "b"}'
    )


class _FakeContext:
    """Stands for the mcp SDK's ``Context`` (recognised by class name and an ``mcp.`` module)."""

    def __init__(self, request_id: int, session: str) -> None:
        self.request_id = request_id
        self.headers = {"mcp-session-id": session}


_FakeContext.__name__ = _FakeContext.__qualname__ = "Context"
_FakeContext.__module__ = "mcp.server.fake"


def test_the_mcp_context_is_found_by_its_annotation_passed_by_keyword_or_position(
    capture_spans: CapturedSpans,
) -> None:
    @smarter_obs.traced_tool
    def by_string_annotation(sku: str, ctx: Context) -> str:  # a string: this module defers annotations
        return sku

    def resolved(sku: str, ctx: _FakeContext | None = None) -> str:
        return sku

    resolved.__annotations__["ctx"] = _FakeContext | None  # an evaluated annotation, not a string
    by_real_annotation = smarter_obs.traced_tool(resolved)

    @smarter_obs.traced_tool
    def without_context(sku: str, other: object = None) -> str:
        return sku

    by_string_annotation("a", _FakeContext(1, "s-1"))
    by_string_annotation(sku="b", ctx=_FakeContext(2, "s-2"))
    by_real_annotation("c", _FakeContext(3, "s-3"))
    by_real_annotation("d")
    without_context("e", _FakeContext(5, "s-5"))  # not declared as the Context: not looked at
    ids = [
        (s["attributes"].get("jsonrpc.request.id"), s["attributes"].get("mcp.session.id"))
        for s in capture_spans.as_dicts()
    ]
    assert ids == [("1", "s-1"), ("2", "s-2"), ("3", "s-3"), (None, None), (None, None)]


def test_tools_decorated_before_init_tracing_follow_each_later_init() -> None:
    @smarter_obs.traced_tool(name="early")
    def early() -> str:
        return "ok"

    assert early() == "ok"  # no tracing yet: nothing recorded, nothing fails
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    smarter_obs.init_tracing("a", exporter=first)
    early()
    smarter_obs.shutdown()
    telemetry = smarter_obs.init_tracing("b", exporter=second)
    early()
    telemetry.force_flush()
    assert [s.resource.attributes["service.name"] for s in first.get_finished_spans()] == ["a"]
    assert [s.resource.attributes["service.name"] for s in second.get_finished_spans()] == ["b"]


def test_tool_span_outside_any_init_changes_no_context() -> None:
    incoming = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(1, 2, is_remote=True)))
    token = otel_context.attach(incoming)
    try:
        with smarter_obs.tool_span("lookup") as span:
            assert not span.is_recording()
            assert trace.get_current_span().get_span_context().span_id == 2  # the caller's parent stays
    finally:
        otel_context.detach(token)
