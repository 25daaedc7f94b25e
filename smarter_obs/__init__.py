"""smarter-obs: observability and analytics-as-code for SmarterOS.

Public surface: ``init_tracing``, ``shutdown``, ``tool_span``, ``traced_tool``, ``Telemetry`` and the error
tree. Importing ``smarter_obs`` is cheap: tracing (OpenTelemetry) is loaded on first use of those names
(PEP 562), the OpenTelemetry SDK only when ``init_tracing`` runs.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from smarter_obs.errors import (
    ConfigError,
    MigrationError,
    SinkError,
    SinkUnavailableError,
    SmarterObsError,
    SourceAuthError,
    SourceDataError,
    SourceError,
    SourceUnavailableError,
)

if _TYPE_CHECKING:
    from smarter_obs.tracing import Telemetry, init_tracing, shutdown, tool_span, traced_tool

__version__ = "0.1.0"

__all__: list[str] = [
    "ConfigError",
    "MigrationError",
    "SinkError",
    "SinkUnavailableError",
    "SmarterObsError",
    "SourceAuthError",
    "SourceDataError",
    "SourceError",
    "SourceUnavailableError",
    "Telemetry",
    "__version__",
    "init_tracing",
    "shutdown",
    "tool_span",
    "traced_tool",
]

_LAZY: dict[str, str] = {
    "Telemetry": "smarter_obs.tracing",
    "init_tracing": "smarter_obs.tracing",
    "shutdown": "smarter_obs.tracing",
    "tool_span": "smarter_obs.tracing",
    "traced_tool": "smarter_obs.tracing",
}


def __getattr__(name: str) -> _Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'smarter_obs' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
