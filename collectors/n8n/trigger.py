"""Trigger-source classification (pure): which of kafka / webhook / schedule / manual / other started a run.

n8n's execution ``mode`` cannot tell a Kafka trigger from a Schedule trigger (both are ``trigger``), so the
workflow's enabled trigger nodes decide. Rules (docs/n8n.md):

* a node is a trigger when its type ends in ``Trigger`` or is one of the classic trigger types
  (``webhook``, ``cron``, ``interval``, ``start``); disabled nodes are ignored;
* node type → kind: ``n8n-nodes-base.kafkaTrigger`` → kafka, ``n8n-nodes-base.webhook`` → webhook,
  ``n8n-nodes-base.scheduleTrigger``/``cron``/``interval`` → schedule,
  ``n8n-nodes-base.manualTrigger``/``start`` → manual, any other trigger → other;
* workflow: the single kind among its triggers (a manual trigger next to a real one is ignored, it is the
  editor's test button); several real kinds or none → other;
* execution: ``mode`` webhook → webhook, manual → manual; trigger → the single non-webhook, non-manual
  kind of the workflow (else the workflow's kind); retry → the workflow's kind; any other mode → other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

KAFKA, WEBHOOK, SCHEDULE, MANUAL, OTHER = "kafka", "webhook", "schedule", "manual", "other"

_NODE_KINDS = {
    "n8n-nodes-base.kafkaTrigger": KAFKA,
    "n8n-nodes-base.webhook": WEBHOOK,
    "n8n-nodes-base.scheduleTrigger": SCHEDULE,
    "n8n-nodes-base.cron": SCHEDULE,
    "n8n-nodes-base.interval": SCHEDULE,
    "n8n-nodes-base.manualTrigger": MANUAL,
    "n8n-nodes-base.start": MANUAL,
}
_CLASSIC_TRIGGERS = {"webhook", "cron", "interval", "start"}


def is_trigger_type(node_type: str) -> bool:
    """True for trigger node types (``…Trigger`` plus the classic webhook/cron/interval/start nodes)."""
    short = node_type.rsplit(".", 1)[-1]
    return short.endswith("Trigger") or (
        node_type.startswith("n8n-nodes-base.") and short in _CLASSIC_TRIGGERS
    )


def node_kind(node_type: str) -> str:
    """The trigger source a trigger node type stands for."""
    return _NODE_KINDS.get(node_type, OTHER)


def trigger_types(nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    """Sorted, distinct types of the enabled trigger nodes in ``nodes`` (a workflow's ``nodes[]``)."""
    return sorted(
        {
            n["type"]
            for n in nodes
            if isinstance(n.get("type"), str) and not n.get("disabled") and is_trigger_type(n["type"])
        }
    )


def workflow_source(types: Iterable[str]) -> str:
    """A workflow's trigger source from its trigger node types."""
    kinds = {node_kind(t) for t in types}
    if len(kinds) > 1:
        kinds.discard(MANUAL)
    return kinds.pop() if len(kinds) == 1 else OTHER


def execution_source(mode: str, types: Iterable[str] | None) -> str:
    """An execution's trigger source from its ``mode`` and its workflow's trigger types (None: unknown)."""
    if mode == "webhook":
        return WEBHOOK
    if mode == "manual":
        return MANUAL
    if types is None:
        return OTHER
    types = list(types)
    if mode == "trigger":
        kinds = {node_kind(t) for t in types} - {WEBHOOK, MANUAL}
        return kinds.pop() if len(kinds) == 1 else workflow_source(types)
    if mode == "retry":
        return workflow_source(types)
    return OTHER
