"""The SmarterOS MCP tool server: two dozen tools on the official ``mcp`` SDK, with realistic behaviour.

Each tool has a latency profile (log-normal: median and p95, in milliseconds, as the upstream API it wraps
typically answers) and a failure rate with the failures that API really produces (rate limits, not found,
upstream 5xx, timeouts). A tool really waits its latency (``asyncio.sleep``): span durations are measured,
never invented. Failures raise ``ToolError``, which the SDK turns into ``CallToolResult(isError=True)`` and
its SERVER span into ``StatusCode=Error`` with ``error.type=tool_error``.

An *incident* window (the upstream of one tool family degraded: slower, failing more) gives the error-rate
and latency panels a shape to show; it is placed by the caller from the seed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TOOLS", "Incident", "ToolProfile", "build_server"]

SERVER_NAME = "smarteros-tools"


@dataclass(frozen=True)
class ToolProfile:
    """One tool: what it does, its parameters, how fast and how often it fails."""

    name: str
    description: str
    params: dict[str, type]
    median_ms: float
    p95_ms: float
    failure_rate: float
    failures: tuple[str, ...]
    weight: float  # relative call frequency

    @property
    def family(self) -> str:
        return self.name.split("_", 1)[0]

    def latency(self, rng: random.Random, slowdown: float = 1.0) -> float:
        """One latency draw in seconds."""
        sigma = math.log(self.p95_ms / self.median_ms) / 1.645
        return rng.lognormvariate(math.log(self.median_ms), sigma) * slowdown / 1000.0


def _t(name, description, params, median, p95, failure_rate, failures, weight) -> ToolProfile:
    return ToolProfile(name, description, params, median, p95, failure_rate, tuple(failures), weight)


S, N, F = str, int, float
TOOLS: tuple[ToolProfile, ...] = (
    _t("whatsapp_send_message", "Send a WhatsApp message to a customer through Chatwoot.",
       {"phone": S, "text": S}, 240, 700, 0.02, ["WhatsApp Cloud API 131026: message undeliverable",
                                                  "rate limited by WhatsApp (429)"], 14),
    _t("whatsapp_send_template", "Send an approved WhatsApp template (order update, reminder).",
       {"phone": S, "template": S}, 280, 800, 0.03, ["template not approved for this number"], 5),
    _t("whatsapp_get_contact", "Look a WhatsApp contact up by phone number.",
       {"phone": S}, 90, 260, 0.01, ["contact not found"], 6),
    _t("chatwoot_thread_summary", "Summarise a Chatwoot conversation thread with the LLM.",
       {"conversation_id": N}, 1800, 4800, 0.03, ["LLM provider timeout after 30s",
                                                   "context length exceeded"], 5),
    _t("chatwoot_assign_agent", "Assign a conversation to a human agent.",
       {"conversation_id": N, "agent_id": N}, 120, 320, 0.01, ["agent is offline"], 3),
    _t("chatwoot_add_label", "Label a conversation (sales, support, complaint).",
       {"conversation_id": N, "label": S}, 80, 210, 0.005, ["Chatwoot 500"], 4),
    _t("chatwoot_resolve_conversation", "Mark a conversation resolved.",
       {"conversation_id": N}, 110, 300, 0.01, ["conversation already resolved"], 3),
    _t("shopify_order_lookup", "Find a Shopify order by number or customer phone.",
       {"order_number": S}, 320, 900, 0.04, ["order not found", "Shopify API throttled (429)"], 12),
    _t("shopify_product_search", "Search the Shopify catalogue.",
       {"query": S}, 260, 700, 0.01, ["Shopify 502 Bad Gateway"], 8),
    _t("shopify_inventory_level", "Units in stock of a variant at a location.",
       {"sku": S}, 180, 500, 0.01, ["unknown SKU"], 6),
    _t("shopify_create_draft_order", "Create a draft order and return its checkout link.",
       {"customer_id": N, "sku": S, "quantity": N}, 650, 1600, 0.05, ["variant out of stock",
                                                                       "Shopify API throttled (429)"], 3),
    _t("shopify_refund_order", "Refund an order (fully or partly).",
       {"order_number": S, "amount": F}, 900, 2400, 0.06, ["refund exceeds captured amount"], 1),
    _t("shopify_customer_lookup", "Find a Shopify customer by phone or email.",
       {"phone": S}, 210, 600, 0.02, ["customer not found"], 5),
    _t("calendar_create_event", "Book an appointment in Google Calendar.",
       {"title": S, "start": S, "minutes": N}, 420, 1100, 0.03, ["slot already taken"], 3),
    _t("calendar_find_slots", "Free slots in the business calendar for a day.",
       {"day": S}, 300, 850, 0.01, ["Google Calendar 503"], 3),
    _t("drive_upload_file", "Upload a file (invoice, photo) to Google Drive.",
       {"name": S, "bytes": N}, 1100, 3200, 0.04, ["Drive quota exceeded", "upload timed out"], 2),
    _t("drive_search_files", "Search Google Drive for a document.",
       {"query": S}, 380, 1000, 0.01, ["Drive 500"], 2),
    _t("email_send", "Send a transactional email.", {"to": S, "subject": S}, 350, 900, 0.02,
       ["SMTP 451 temporary failure"], 2),
    _t("n8n_trigger_workflow", "Start an n8n workflow through its webhook.",
       {"workflow": S}, 150, 450, 0.03, ["n8n webhook returned 404: workflow inactive"], 4),
    _t("kafka_publish_event", "Publish a SmarterOS event on the Redpanda bus.",
       {"topic": S, "key": S}, 25, 80, 0.002, ["broker not available"], 6),
    _t("supabase_tenant_lookup", "Tenant settings and plan from Supabase.",
       {"tenant_id": S}, 45, 140, 0.003, ["Supabase connection pool exhausted"], 7),
    _t("payment_link_create", "Create a payment link (Mercado Pago / Flow).",
       {"order_number": S, "amount": F}, 700, 1900, 0.04, ["payment provider 503"], 2),
    _t("ai_classify_intent", "Classify the intent of an incoming message.",
       {"text": S}, 520, 1400, 0.02, ["LLM provider rate limit"], 10),
    _t("knowledge_base_search", "Search the tenant's FAQ and policies (vector search).",
       {"query": S}, 140, 420, 0.01, ["embedding service unavailable"], 5),
)  # fmt: skip


@dataclass
class Incident:
    """Between ``start`` and ``end`` (virtual epoch seconds) the tools of ``family`` are degraded."""

    family: str
    start: float
    end: float
    slowdown: float = 3.0
    failure_rate: float = 0.35


@dataclass
class ToolRuntime:
    """What the tools consult: the seed, the virtual time of the call being served and any incident.

    Each call draws its latency and outcome from its own generator, seeded by the seed, the tool and the
    call's arguments, so the outcome of a call does not depend on the order concurrent calls run in.
    """

    seed: int
    incidents: list[Incident] = field(default_factory=list)
    now: Callable[[], float] = lambda: 0.0  # virtual time of the current conversation

    def degraded(self, tool: ToolProfile) -> Incident | None:
        now = self.now()
        return next((i for i in self.incidents if i.family == tool.family and i.start <= now < i.end), None)

    def rng_for(self, tool: ToolProfile, arguments: dict[str, Any]) -> random.Random:
        return random.Random(f"{self.seed}:{tool.name}:{json.dumps(arguments, sort_keys=True, default=str)}")


def _tool_function(tool: ToolProfile, runtime: ToolRuntime) -> Callable[..., Any]:
    from mcp.server.mcpserver.exceptions import ToolError

    async def call(**arguments: Any) -> dict[str, Any]:
        incident = runtime.degraded(tool)
        rng = runtime.rng_for(tool, arguments)
        await asyncio.sleep(tool.latency(rng, incident.slowdown if incident else 1.0))
        rate = incident.failure_rate if incident else tool.failure_rate
        if rng.random() < rate:
            raise ToolError(rng.choice(tool.failures))
        return {"ok": True, "tool": tool.name, **{k: v for k, v in arguments.items() if k != "text"}}

    call.__name__ = tool.name
    call.__doc__ = tool.description
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, annotation=t) for p, t in tool.params.items()],
        return_annotation=dict[str, Any],
    )
    call.__annotations__ = {**tool.params, "return": dict[str, Any]}
    return call


def build_server(runtime: ToolRuntime, tools: tuple[ToolProfile, ...] = TOOLS) -> Any:
    """An ``MCPServer`` exposing ``tools``; each call is traced by the SDK (one SERVER span per call)."""
    from mcp.server.mcpserver import MCPServer

    import smarter_obs

    app = MCPServer(SERVER_NAME)
    for tool in tools:
        # traced_tool adds smarter-obs's attributes to the SDK's own tools/call span (no second span)
        app.tool(name=tool.name, description=tool.description)(
            smarter_obs.traced_tool(_tool_function(tool, runtime), name=tool.name)
        )
    return app
