"""The OTLP/HTTP receiver: ``POST /v1/traces`` → bounded batcher → ClickHouse ``otel_traces``.

Responses follow the OTLP/HTTP specification so senders retry correctly:

- 200 with ``ExportTraceServiceResponse``; ``partial_success`` counts spans rejected for invalid ids;
- 400 (not retryable) for a body that cannot be decoded, 413 when too large, 415 for other media types;
- 503 with ``Retry-After`` when the queue is full (ClickHouse down or slow) or the receiver is stopping.

Accepted spans are queued in memory (at most ``max_pending`` spans) and written in columnar batches; a
ClickHouse outage keeps them queued and retried until the queue fills, then senders get 503 and keep the
data on their side. ``GET /health`` reports liveness and counters; ``GET /ready`` is 503 while ClickHouse is
unreachable or the queue is full.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from smarter_obs.collectors.spans.decode import (
    JSON,
    PROTOBUF,
    DecodeError,
    UnsupportedMediaTypeError,
    decode_request,
    encode_response,
    encode_status,
)
from smarter_obs.collectors.spans.rows import TABLE, SpanColumns, from_otlp, is_mcp_or_tool_span
from smarter_obs.sinks._batcher import Batcher
from smarter_obs.sinks.clickhouse import ClickHouseSink

__all__ = ["DEFAULT_MAX_BODY", "SpanReceiver"]

log = logging.getLogger(__name__)

#: Largest accepted request body (compressed or not), bytes.
DEFAULT_MAX_BODY = 32 << 20
_TRACES_PATH = "/v1/traces"
_RPC_INVALID_ARGUMENT = 3
_RPC_UNAVAILABLE = 14
_RPC_RESOURCE_EXHAUSTED = 8


class SpanReceiver:
    """An OTLP/HTTP traces receiver writing into ``sink`` (start/stop, or use as a context manager)."""

    def __init__(
        self,
        sink: ClickHouseSink,
        *,
        host: str = "127.0.0.1",
        port: int = 4318,
        only_tools: bool = False,
        batch_size: int = 10_000,
        max_pending: int = 200_000,
        flush_interval: float = 1.0,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.sink = sink
        self.only_tools = only_tools
        self.max_body = max_body
        self.batcher: Batcher[SpanColumns] = Batcher(
            self._write,
            batch_size=batch_size,
            max_pending=max_pending,
            interval=flush_interval,
            name="spans",
        )
        self.filtered = 0
        self.rejected = 0
        self._counters = threading.Lock()
        self._stopping = False
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="smarter-obs-otlp-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop accepting, flush queued spans within ``timeout``; True when nothing was lost."""
        self._stopping = True
        self._server.shutdown()
        self._server.server_close()
        ok = self.batcher.close(timeout)
        self.sink.close()
        return ok

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write(self, blocks: Sequence[SpanColumns]) -> None:
        self.sink.write_arrow(TABLE, SpanColumns.concat(blocks).to_arrow())

    def health(self) -> dict[str, Any]:
        stats = self.batcher.stats
        return {
            "status": "ok" if stats.store_available else "degraded",
            "store": "up" if stats.store_available else "down",
            "pending_spans": stats.pending,
            "max_pending_spans": self.batcher.max_pending,
            "accepted_spans": stats.accepted,
            "written_spans": stats.written,
            "dropped_spans": stats.dropped,
            "refused_spans": stats.refused,
            "rejected_spans": self.rejected,
            "filtered_spans": self.filtered,
        }

    def handle_export(
        self, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> tuple[int, str, bytes, dict[str, str]]:
        """One ``POST /v1/traces``: ``(status, content type, body, extra headers)``."""
        kind = JSON if (content_type or "").lower().startswith(JSON) else PROTOBUF
        try:
            request, kind = decode_request(body, content_type, content_encoding, max_size=self.max_body * 4)
        except UnsupportedMediaTypeError as exc:
            return 415, kind, encode_status(_RPC_INVALID_ARGUMENT, str(exc), kind), {}
        except DecodeError as exc:
            return 400, kind, encode_status(_RPC_INVALID_ARGUMENT, str(exc), kind), {}
        if self._stopping:
            return self._unavailable(kind, "receiver is shutting down")
        keep = is_mcp_or_tool_span if self.only_tools else None
        block, accepted, rejected, message = from_otlp(request, keep=keep)
        total = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        with self._counters:  # handler threads run concurrently
            self.filtered += total - accepted - rejected
            self.rejected += rejected
        try:
            queued = self.batcher.offer(block)
        except RuntimeError:  # the batcher closed while this request was being decoded
            return self._unavailable(kind, "receiver is shutting down")
        if not queued:
            return self._unavailable(kind, "span queue is full (ClickHouse unavailable or slow); retry later")
        return 200, kind, encode_response(rejected, message, kind), {}

    def _unavailable(self, kind: str, message: str) -> tuple[int, str, bytes, dict[str, str]]:
        retry_after = max(1, math.ceil(self.batcher.retry_after()))
        body = encode_status(_RPC_UNAVAILABLE, message, kind)
        return 503, kind, body, {"Retry-After": str(retry_after)}


def _handler_for(receiver: SpanReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "smarter-obs-otlp"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _send(
            self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/health", "/healthz", "/"):
                self._send(200, JSON, json.dumps(receiver.health()).encode())
            elif path in ("/ready", "/readyz"):
                health = receiver.health()
                full = health["pending_spans"] >= health["max_pending_spans"]
                ready = health["store"] == "up" and not full and not receiver._stopping
                self._send(200 if ready else 503, JSON, json.dumps(health).encode())
            else:
                self._send(404, JSON, b'{"message": "not found; POST /v1/traces, GET /health, GET /ready"}')

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            kind = JSON if (self.headers.get("Content-Type") or "").lower().startswith(JSON) else PROTOBUF
            if path != _TRACES_PATH:
                self._send(
                    404, kind, encode_status(5, f"unknown path {path}; traces go to {_TRACES_PATH}", kind)
                )
                return
            length_header = self.headers.get("Content-Length")
            if length_header is None:
                self.close_connection = True
                self._send(
                    411, kind, encode_status(_RPC_INVALID_ARGUMENT, "Content-Length is required", kind)
                )
                return
            try:
                length = int(length_header)
            except ValueError:
                self.close_connection = True
                self._send(400, kind, encode_status(_RPC_INVALID_ARGUMENT, "bad Content-Length", kind))
                return
            if length > receiver.max_body:
                self.close_connection = True
                self._send(
                    413,
                    kind,
                    encode_status(
                        _RPC_RESOURCE_EXHAUSTED, f"body of {length} bytes exceeds {receiver.max_body}", kind
                    ),
                )
                return
            body = self.rfile.read(length)
            try:
                status, content_type, payload, headers = receiver.handle_export(
                    body, self.headers.get("Content-Type"), self.headers.get("Content-Encoding")
                )
            except Exception as exc:  # a bug must answer 500, not kill the connection silently
                log.exception("OTLP export handling failed")
                status, content_type, headers = 500, kind, {}
                payload = encode_status(13, f"internal error: {type(exc).__name__}", kind)
            self._send(status, content_type, payload, headers)

    return Handler
