"""Trigger-source classification: node types and execution modes → kafka/webhook/schedule/manual/other."""

from __future__ import annotations

import itertools

import pytest

from smarter_obs.collectors.n8n import trigger
from smarter_obs.collectors.n8n.rows import workflow_row
from tests.collectors.n8n.fake_n8n import WORKFLOW_KINDS, FakeN8n

BASE = "n8n-nodes-base."


@pytest.mark.parametrize(
    "node_type, kind",
    [
        (BASE + "kafkaTrigger", "kafka"),
        (BASE + "webhook", "webhook"),
        (BASE + "scheduleTrigger", "schedule"),
        (BASE + "cron", "schedule"),
        (BASE + "interval", "schedule"),
        (BASE + "manualTrigger", "manual"),
        (BASE + "githubTrigger", "other"),
        ("@n8n/n8n-nodes-langchain.chatTrigger", "other"),
    ],
)
def test_trigger_node_types_map_to_sources(node_type: str, kind: str) -> None:
    assert trigger.is_trigger_type(node_type)
    assert trigger.workflow_source([node_type]) == kind


def test_action_nodes_are_not_triggers() -> None:
    nodes = [{"type": BASE + "set"}, {"type": BASE + "httpRequest"}, {"type": "community.webhook"}]
    assert trigger.trigger_types(nodes) == []
    assert trigger.workflow_source([]) == "other"


def test_disabled_triggers_are_ignored() -> None:
    nodes = [{"type": BASE + "kafkaTrigger", "disabled": True}, {"type": BASE + "scheduleTrigger"}]
    assert trigger.workflow_source(trigger.trigger_types(nodes)) == "schedule"


def test_manual_trigger_beside_a_real_trigger_is_the_test_button() -> None:
    assert trigger.workflow_source([BASE + "kafkaTrigger", BASE + "manualTrigger"]) == "kafka"
    assert trigger.workflow_source([BASE + "kafkaTrigger", BASE + "scheduleTrigger"]) == "other"


def test_mode_trigger_cannot_tell_kafka_from_schedule_but_the_workflow_can() -> None:
    assert trigger.execution_source("trigger", [BASE + "kafkaTrigger"]) == "kafka"
    assert trigger.execution_source("trigger", [BASE + "scheduleTrigger"]) == "schedule"
    # a webhook+schedule workflow: a `trigger`-mode run came from the schedule, a `webhook` one from the hook
    both = [BASE + "webhook", BASE + "scheduleTrigger"]
    assert trigger.execution_source("trigger", both) == "schedule"
    assert trigger.execution_source("webhook", both) == "webhook"
    assert trigger.execution_source("manual", [BASE + "kafkaTrigger"]) == "manual"


@pytest.mark.parametrize("mode", ["integrated", "cli", "error", "internal", "evaluation", "chat", "agent"])
def test_other_modes_are_other(mode: str) -> None:
    assert trigger.execution_source(mode, [BASE + "kafkaTrigger"]) == "other"


def test_unknown_workflow_falls_back_to_mode() -> None:
    assert trigger.execution_source("webhook", None) == "webhook"
    assert trigger.execution_source("trigger", None) == "other"


def test_every_generated_workflow_gets_its_designed_source() -> None:
    fake = FakeN8n.generate(seed=5, executions=0)
    for wf in fake.workflows:
        row = workflow_row(wf, instance="x", where="test")
        assert row[5] == fake.kinds[wf["id"]], wf["name"]
    assert len(fake.workflows) == len(WORKFLOW_KINDS)


def test_classification_is_independent_of_node_order() -> None:
    types = [BASE + "webhook", BASE + "manualTrigger", BASE + "kafkaTrigger"]
    results = {trigger.workflow_source(list(p)) for p in itertools.permutations(types)}
    assert results == {"other"}  # webhook + kafka: ambiguous for the workflow as a whole
