"""The MCP spans collector: an OTLP/HTTP receiver writing spans into ClickHouse ``otel_traces``.

source (``server.py``: OTLP/HTTP ``POST /v1/traces``) → decode (``decode.py``: protobuf/JSON, gzip) →
rows (``smarter_obs.sinks.otel_traces``, shared with the in-process exporter) → sink (bounded batcher +
``ClickHouseSink``). ``cli.py`` holds ``smarter-obs collect spans``.
"""

from smarter_obs.collectors.spans.server import SpanReceiver

__all__ = ["SpanReceiver"]
