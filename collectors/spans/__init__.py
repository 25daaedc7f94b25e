"""The MCP spans collector: an OTLP/HTTP receiver writing spans into ClickHouse ``otel_traces``.

source (``server.py``: OTLP/HTTP ``POST /v1/traces``; ``decode.py``: protobuf/JSON, gzip) → rows
(``rows.py``: spans → ``otel_traces`` columns and their Arrow table, shared with the in-process exporter) →
sink (bounded batcher + ``ClickHouseSink``). ``cli.py`` holds ``smarter-obs collect spans``. Push-based, so
there is no ``collector.py`` cycle: each request is decoded and mapped as it arrives and the batcher writes.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from smarter_obs.collectors.spans.server import SpanReceiver

__all__ = ["SpanReceiver"]


def __getattr__(name: str) -> _Any:
    # Lazy: the in-process exporter imports ``rows`` and must not load the HTTP server with it.
    if name == "SpanReceiver":
        from smarter_obs.collectors.spans.server import SpanReceiver

        return SpanReceiver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
