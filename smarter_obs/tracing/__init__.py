"""Tracing bootstrap for SmarterOS services: ``init_tracing`` and MCP tool spans.

Importing this package imports only the OpenTelemetry API; the SDK is imported when ``init_tracing`` runs.
"""

from smarter_obs.tracing._bootstrap import Telemetry, current, init_tracing, shutdown
from smarter_obs.tracing._mcp import tool_span, traced_tool
from smarter_obs.tracing._stats import ExporterStats, TelemetryStats

__all__ = [
    "ExporterStats",
    "Telemetry",
    "TelemetryStats",
    "current",
    "init_tracing",
    "shutdown",
    "tool_span",
    "traced_tool",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("smarter_obs.tracing."):
        _obj.__module__ = "smarter_obs.tracing"
