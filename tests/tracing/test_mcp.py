"""MCP tool spans: semantic conventions, errors, opt-in arguments, no duplicate SERVER spans (real mcp
SDK)."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer

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
