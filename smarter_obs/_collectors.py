"""The one place where ``smarter-obs serve`` and the demo reach into collector modules.

Collector modules are being reorganised (``source → rows → collector → cli``); everything outside
``smarter_obs.collectors`` that builds a collector imports it from here, so a rename touches this file only.
"""

from __future__ import annotations

from smarter_obs.collectors.n8n.cli import default_instance, read_api_key
from smarter_obs.collectors.n8n.collector import N8nCollector
from smarter_obs.collectors.n8n.source import N8nClient
from smarter_obs.collectors.redpanda_lag.collector import LagCollector
from smarter_obs.collectors.redpanda_lag.config import (
    GroupSelector,
    LagConfig,
    TopicSelector,
    kafka_properties,
    validate_bootstrap,
)
from smarter_obs.collectors.redpanda_lag.status import Rules
from smarter_obs.collectors.spans.cli import _parse_listen as parse_listen
from smarter_obs.collectors.spans.server import SpanReceiver

__all__ = [
    "GroupSelector",
    "LagCollector",
    "LagConfig",
    "N8nClient",
    "N8nCollector",
    "Rules",
    "SpanReceiver",
    "TopicSelector",
    "default_instance",
    "kafka_properties",
    "parse_listen",
    "read_api_key",
    "validate_bootstrap",
]
