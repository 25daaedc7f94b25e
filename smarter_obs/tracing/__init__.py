"""Tracing bootstrap for SmarterOS services: ``init_tracing`` and MCP tool spans.

Importing this package imports only the OpenTelemetry API; the SDK is imported when ``init_tracing`` runs.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from smarter_obs.tracing._bootstrap import Telemetry, current, init_tracing, shutdown
from smarter_obs.tracing._mcp import tool_span, traced_tool

if _TYPE_CHECKING:
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

#: Loaded on first use (PEP 562): only ``Telemetry.stats()`` needs them.
_LAZY = {"ExporterStats": "smarter_obs.tracing._stats", "TelemetryStats": "smarter_obs.tracing._stats"}


def _clean_module_name(obj: _Any) -> None:
    if getattr(obj, "__module__", "").startswith("smarter_obs.tracing."):
        obj.__module__ = "smarter_obs.tracing"


def __getattr__(name: str) -> _Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'smarter_obs.tracing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    _clean_module_name(value)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


for _name in __all__:
    if _name not in _LAZY:
        _clean_module_name(globals()[_name])
