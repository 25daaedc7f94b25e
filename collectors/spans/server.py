"""The OTLP/HTTP receiver: ``POST /v1/traces`` → bounded batcher → ClickHouse ``otel_traces``.

Responses follow the OTLP/HTTP specification so senders retry correctly:

- 200 with ``ExportTraceServiceResponse``; ``partial_success`` counts the spans rejected (invalid ids, times
  the table cannot hold) and says why: the sender logs it and does not retry;
- 400 (not retryable) for a body that cannot be decoded or bad framing, 411 without a length, 413 when too
  large (on the wire or inflated), 415 for other media types, 501 for transfer codings other than chunked;
- 503 with ``Retry-After`` when the queue is full (ClickHouse down or slow), the requests in flight hold the
  memory budget, every connection slot is taken, or the receiver is stopping.

Accepted spans are queued in memory (at most ``max_pending`` spans) and written in columnar batches; a
ClickHouse outage keeps them queued and retried until the queue fills, then senders get 503 and keep the
data on their side. A batch ClickHouse refuses is split until the refused rows are alone: only those are
dropped (counted and logged). ``GET /health`` reports liveness and counters; ``GET /ready`` is 503 while
ClickHouse is unreachable or the queue is full.

Resources are bounded whatever the clients do: one thread per connection, at most ``max_connections`` (a
connection beyond gets 503 at once, from the accepting thread); every read waits at most ``read_timeout``;
request bodies held at once (compressed and inflated) are at most ``max_inflight`` bytes.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from smarter_obs.collectors.spans.decode import (
    JSON,
    PROTOBUF,
    DecodeError,
    OverloadedError,
    TooLargeError,
    UnsupportedMediaTypeError,
    decode_request,
    encode_response,
    encode_status,
    reject_invalid_spans,
)
from smarter_obs.collectors.spans.rows import TABLE, SpanColumns, from_otlp, is_mcp_or_tool_span
from smarter_obs.errors import SinkError, SinkUnavailableError
from smarter_obs.sinks._batcher import Batcher
from smarter_obs.sinks.clickhouse import ClickHouseSink

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_INFLATED",
    "DEFAULT_MAX_INFLIGHT",
    "DEFAULT_READ_TIMEOUT",
    "SpanReceiver",
    "split_spans",
]

log = logging.getLogger(__name__)

#: Largest accepted request body on the wire (compressed or not), bytes.
DEFAULT_MAX_BODY = 32 << 20
#: Largest request body once inflated (gzip/deflate), bytes; decompression stops there (413).
DEFAULT_MAX_INFLATED = 64 << 20
#: Request bodies all requests in flight may hold at once, compressed and inflated, bytes (503 beyond).
DEFAULT_MAX_INFLIGHT = 128 << 20
#: Concurrent connections, each served by one thread (503 beyond). Idle keep-alive connections count.
DEFAULT_MAX_CONNECTIONS = 128
#: Longest wait for the next bytes from a client (request line, headers, body, or the next request on a
#: kept-alive connection), seconds.
DEFAULT_READ_TIMEOUT = 10.0

_TRACES_PATH = "/v1/traces"
_RPC_INVALID_ARGUMENT = 3
_RPC_NOT_FOUND = 5
_RPC_RESOURCE_EXHAUSTED = 8
_RPC_UNIMPLEMENTED = 12
_RPC_INTERNAL = 13
_RPC_UNAVAILABLE = 14
_DIGITS = re.compile(r"[0-9]+")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
#: ClickHouse errors that are about the store, not about the rows: every insert would fail the same way, so
#: the spans are kept and retried (the receiver reports the store down) instead of dropped one by one.
_STORE_WIDE_CODES = {
    8,  # THERE_IS_NO_COLUMN
    10,  # NOT_FOUND_COLUMN_IN_BLOCK
    16,  # NO_SUCH_COLUMN_IN_TABLE
    47,  # UNKNOWN_IDENTIFIER
    60,  # UNKNOWN_TABLE
    81,  # UNKNOWN_DATABASE
    192,  # UNKNOWN_USER
    193,  # WRONG_PASSWORD
    194,  # REQUIRED_PASSWORD
    195,  # IP_ADDRESS_NOT_ALLOWED
    243,  # NOT_ENOUGH_SPACE
    291,  # DATABASE_ACCESS_DENIED
    497,  # ACCESS_DENIED
    516,  # AUTHENTICATION_FAILED
}
#: Answer to a connection beyond ``max_connections``, sent by the accepting thread before it closes it.
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)
_WARN_EVERY = 60.0

Response = tuple[int, str, bytes, dict[str, str]]


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
        max_inflated: int = DEFAULT_MAX_INFLATED,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        if min(max_body, max_inflated, max_inflight, max_connections) < 1 or read_timeout <= 0:
            raise ValueError("receiver limits must be positive")
        self.sink = sink
        self.only_tools = only_tools
        self.max_body = max_body
        self.max_inflated = max_inflated
        self.read_timeout = read_timeout
        self.budget = _Budget(max_inflight)
        self.batcher: Batcher[SpanColumns] = Batcher(
            self._write,
            batch_size=batch_size,
            max_pending=max_pending,
            interval=flush_interval,
            name="spans",
            store="ClickHouse",
            split=split_spans,
            describe=_describe_span,
        )
        self.filtered = 0
        self.rejected = 0
        self._counters = threading.Lock()
        self._stopping = False
        self._server = _Server((host, port), _handler_for(self), max_connections)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def max_connections(self) -> int:
        return self._server.max_connections

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
        table = SpanColumns.concat(blocks).to_arrow()
        try:
            self.sink.write_arrow(TABLE, table)
        except SinkError as exc:
            if exc.code in _STORE_WIDE_CODES and not isinstance(exc, SinkUnavailableError):
                raise SinkUnavailableError(
                    f"ClickHouse refuses every insert, the spans are kept until it is fixed: {exc}",
                    table=exc.table,
                    rows=exc.rows,
                    code=exc.code,
                ) from exc
            raise

    def health(self) -> dict[str, Any]:
        stats = self.batcher.stats
        return {
            "status": "ok" if stats.store_available else "degraded",
            "store": "up" if stats.store_available else "down",
            "pending_spans": stats.pending,
            "max_pending_spans": self.batcher.max_pending,
            "accepted_spans": stats.accepted,
            "written_spans": stats.written,
            "refused_spans": stats.refused,  # queue full: the sender got 503 and keeps them
            "rejected_spans": self.rejected,  # invalid: told to the sender in partial_success
            "dropped_spans": stats.dropped,  # accepted, then given up: the two below
            "store_rejected_spans": stats.rejected,
            "failed_spans": stats.failed,
            "filtered_spans": self.filtered,
            "connections": self._server.connections,
            "max_connections": self._server.max_connections,
            "inflight_bytes": self.budget.used,
            "max_inflight_bytes": self.budget.limit,
        }

    def handle_export(
        self,
        body: bytes | bytearray,
        content_type: str | None,
        content_encoding: str | None,
        *,
        reserve: Callable[[int], None] | None = None,
    ) -> Response:
        """One ``POST /v1/traces``: ``(status, content type, body, extra headers)``.

        ``reserve(n)`` is called before ``n`` more inflated bytes are held (OverloadedError → 503).
        """
        kind = JSON if (content_type or "").lower().startswith(JSON) else PROTOBUF
        try:
            request, kind = decode_request(
                body, content_type, content_encoding, max_size=self.max_inflated, reserve=reserve
            )
        except UnsupportedMediaTypeError as exc:
            return 415, kind, encode_status(_RPC_INVALID_ARGUMENT, str(exc), kind), {}
        except TooLargeError as exc:
            return 413, kind, encode_status(_RPC_RESOURCE_EXHAUSTED, str(exc), kind), {}
        except DecodeError as exc:
            return 400, kind, encode_status(_RPC_INVALID_ARGUMENT, str(exc), kind), {}
        except OverloadedError as exc:
            return 503, kind, encode_status(_RPC_UNAVAILABLE, str(exc), kind), {"Retry-After": "1"}
        if self._stopping:
            return self._unavailable(kind, "receiver is shutting down")
        invalid, invalid_message = reject_invalid_spans(request)
        keep = is_mcp_or_tool_span if self.only_tools else None
        block, accepted, rejected, message = from_otlp(request, keep=keep)
        total = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        del request
        with self._counters:  # handler threads run concurrently
            self.filtered += total - accepted - rejected
            self.rejected += rejected + invalid
        try:
            queued = self.batcher.offer(block)
        except RuntimeError:  # the batcher closed while this request was being decoded
            return self._unavailable(kind, "receiver is shutting down")
        if not queued:
            return self._unavailable(kind, "span queue is full (ClickHouse unavailable or slow); retry later")
        message = "; ".join(m for m in (invalid_message, message) if m)
        return 200, kind, encode_response(rejected + invalid, message, kind), {}

    def _unavailable(self, kind: str, message: str) -> Response:
        retry_after = max(1, math.ceil(self.batcher.retry_after()))
        body = encode_status(_RPC_UNAVAILABLE, message, kind)
        return 503, kind, body, {"Retry-After": str(retry_after)}


# -- writing: splitting a refused batch ----------------------------------------------------------------
_SCALAR_COLUMNS = (
    "timestamps",
    "trace_ids",
    "span_ids",
    "parent_span_ids",
    "trace_states",
    "span_names",
    "kinds",
    "durations",
    "status_codes",
    "status_messages",
    "attribute_counts",
)


def split_spans(block: SpanColumns) -> tuple[SpanColumns, SpanColumns] | None:
    """``block`` in two halves of rows (None for a single row): how a refused insert is narrowed down."""
    rows = len(block)
    if rows < 2:
        return None
    middle = rows // 2
    return _span_rows(block, 0, middle), _span_rows(block, middle, rows)


def _span_rows(block: SpanColumns, start: int, stop: int) -> SpanColumns:
    out = SpanColumns()
    for name in _SCALAR_COLUMNS:
        setattr(out, name, getattr(block, name)[start:stop])
    first = sum(block.attribute_counts[:start])
    last = first + sum(out.attribute_counts)
    out.attribute_keys = block.attribute_keys[first:last]
    out.attribute_values = block.attribute_values[first:last]
    bounds = [run[0] for run in block.runs[1:]] + [len(block)]
    out.runs = [
        [max(run[0], start) - start, run[1], run[2]]
        for run, end in zip(block.runs, bounds, strict=True)
        if run[0] < stop and end > start and end > run[0]
    ]
    out.events = [(row - start, entries) for row, entries in block.events if start <= row < stop]
    out.links = [(row - start, entries) for row, entries in block.links if start <= row < stop]
    return out


def _describe_span(block: SpanColumns) -> str:
    service = block.runs[0][1][2] if block.runs else ""
    return (
        f"span {block.span_ids[0]} of trace {block.trace_ids[0]} "
        f"({service or 'no service.name'}: {block.span_names[0]!r})"
    )


# -- HTTP ------------------------------------------------------------------------------------------------
class _Budget:
    """Bytes of request bodies held by the requests in flight, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.used -= size


class _Lease:
    """One request's share of the budget, given back at the end of the request."""

    def __init__(self, budget: _Budget) -> None:
        self._budget = budget
        self.held = 0

    def reserve(self, size: int) -> None:
        if not self._budget.take(size):
            limit_mib = self._budget.limit / (1 << 20)
            raise OverloadedError(
                f"receiver is busy: the requests in flight hold its {limit_mib:g} MiB budget for request "
                "bodies; retry later",
                source="otlp",
            )
        self.held += size

    def release(self) -> None:
        self._budget.give(self.held)
        self.held = 0


class _Server(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections``; client disconnects are not errors."""

    daemon_threads = True
    request_queue_size = socket.SOMAXCONN  # socketserver's 5 drops connections of a burst of senders

    def __init__(self, address: tuple[str, int], handler: type, max_connections: int) -> None:
        self.max_connections = max_connections
        self.connections = 0
        self._slots = threading.Lock()
        self._last_warning = -_WARN_EVERY
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._slots:
            full = self.connections >= self.max_connections
            if not full:
                self.connections += 1
        if full:
            self._refuse(request, client_address)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._slots:
            self.connections -= 1

    def _refuse(self, request: socket.socket, client_address: Any) -> None:
        """503 without a thread: send the fixed answer, read what already arrived, close."""
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY:
            self._last_warning = now
            log.warning(
                "refusing connections: %d open, the limit (--max-connections); clients get 503 and retry",
                self.max_connections,
            )
        log.debug("refused connection from %s: %d connections open", _peer(client_address), self.connections)
        try:
            request.setblocking(False)
            request.send(_BUSY)
            request.recv(65536)  # what the client already sent: closing on unread data would reset
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, TimeoutError):
            log.debug("client %s timed out; connection closed", _peer(client_address))
        elif isinstance(exc, ConnectionError):
            log.debug("client %s disconnected: %s", _peer(client_address), exc)
        else:
            log.error("OTLP connection from %s failed", _peer(client_address), exc_info=exc)


def _peer(client_address: Any) -> str:
    try:
        host, port = client_address[:2]
    except (TypeError, ValueError):
        return str(client_address)
    return f"{host}:{port}"


class _Refusal(Exception):
    """An error answer decided while reading the request; the connection is closed after it."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


class _Vanished(Exception):
    """The client closed the connection before its request was complete."""


def _handler_for(receiver: SpanReceiver) -> type[BaseHTTPRequestHandler]:
    # every read on the socket waits at most read_timeout, the wait for the next request included
    return type("Handler", (_Handler,), {"receiver": receiver, "timeout": receiver.read_timeout})


class _Handler(BaseHTTPRequestHandler):
    """``POST /v1/traces``, ``GET /health``, ``GET /ready`` for one receiver (bound by ``_handler_for``)."""

    protocol_version = "HTTP/1.1"
    server_version = "smarter-obs-otlp"
    receiver: SpanReceiver

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
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/health", "/healthz", "/"):
            self._send(200, JSON, json.dumps(self.receiver.health()).encode())
        elif path in ("/ready", "/readyz"):
            health = self.receiver.health()
            full = health["pending_spans"] >= health["max_pending_spans"]
            ready = health["store"] == "up" and not full and not self.receiver._stopping
            self._send(200 if ready else 503, JSON, json.dumps(health).encode())
        else:
            self._send(404, JSON, b'{"message": "not found; POST /v1/traces, GET /health, GET /ready"}')

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        kind = JSON if (self.headers.get("Content-Type") or "").lower().startswith(JSON) else PROTOBUF
        lease = _Lease(self.receiver.budget)
        try:
            if path != _TRACES_PATH:
                message = f"unknown path {path}; traces go to {_TRACES_PATH}"
                raise _Refusal(404, _RPC_NOT_FOUND, message)
            body = self._read_body(lease)
            status, content_type, payload, headers = self.receiver.handle_export(
                body,
                self.headers.get("Content-Type"),
                self.headers.get("Content-Encoding"),
                reserve=lease.reserve,
            )
        except _Refusal as refusal:
            self.close_connection = True  # the rest of the body, if any, is not read
            status, content_type, headers = refusal.status, kind, refusal.headers
            payload = encode_status(refusal.code, str(refusal), kind)
        except _Vanished:
            log.debug("client %s disconnected before its request was complete", _peer(self.client_address))
            self.close_connection = True
            return
        except (ConnectionError, TimeoutError):
            raise  # the server logs them as one line
        except Exception as exc:  # a bug must answer 500, not kill the connection silently
            log.exception("OTLP export handling failed")
            status, content_type, headers = 500, kind, {}
            payload = encode_status(_RPC_INTERNAL, f"internal error: {type(exc).__name__}", kind)
        finally:
            body = None
            lease.release()
        self._send(status, content_type, payload, headers)

    def _read_body(self, lease: _Lease) -> bytes | bytearray:
        """The request body, within the limits; raises _Refusal or _Vanished."""
        codings = self.headers.get_all("Transfer-Encoding") or []
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if codings:
            if lengths:
                raise _Refusal(
                    400, _RPC_INVALID_ARGUMENT, "send Content-Length or Transfer-Encoding, not both"
                )
            if [c.strip().lower() for value in codings for c in value.split(",")] != ["chunked"]:
                message = f"Transfer-Encoding {', '.join(codings)!r} is not supported: use chunked or none"
                raise _Refusal(501, _RPC_UNIMPLEMENTED, message)
            return self._read_chunked(lease)
        if not lengths:
            message = "Content-Length is required (or Transfer-Encoding: chunked)"
            raise _Refusal(411, _RPC_INVALID_ARGUMENT, message)
        if len(lengths) > 1 or not _DIGITS.fullmatch(value := next(iter(lengths))):
            message = f"bad Content-Length {', '.join(sorted(lengths))!r}: one decimal number of bytes"
            raise _Refusal(400, _RPC_INVALID_ARGUMENT, message)
        if len(value) > 20:  # more than any body could be (and int() refuses 4300 digits)
            message = f"body of {value[:24]}... bytes exceeds {self.receiver.max_body}"
            raise _Refusal(413, _RPC_RESOURCE_EXHAUSTED, message)
        length = int(value)
        self._check_size(length)
        self._reserve(lease, length)
        body = self.rfile.read(length)
        if len(body) < length:
            raise _Vanished
        return body

    def _read_chunked(self, lease: _Lease) -> bytearray:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise _Vanished
            size = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size):
                raise _Refusal(400, _RPC_INVALID_ARGUMENT, f"bad chunk size line {line[:40]!r}")
            length = int(size, 16)
            if length == 0:
                break
            self._check_size(len(body) + length)
            self._reserve(lease, length)
            chunk = self.rfile.read(length)
            if len(chunk) < length:
                raise _Vanished
            body += chunk
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Refusal(400, _RPC_INVALID_ARGUMENT, "chunk data not followed by CRLF")
        for _ in range(100):  # trailer fields, ignored
            line = self.rfile.readline(65537)
            if not line:
                raise _Vanished
            if line in (b"\r\n", b"\n"):
                return body
        raise _Refusal(400, _RPC_INVALID_ARGUMENT, "too many trailer fields")

    def _check_size(self, length: int) -> None:
        if length > self.receiver.max_body:
            message = f"body of {length} bytes exceeds {self.receiver.max_body}"
            raise _Refusal(413, _RPC_RESOURCE_EXHAUSTED, message)

    def _reserve(self, lease: _Lease, length: int) -> None:
        try:
            lease.reserve(length)
        except OverloadedError as exc:
            raise _Refusal(503, _RPC_UNAVAILABLE, str(exc), {"Retry-After": "1"}) from None
