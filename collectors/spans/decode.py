"""OTLP/HTTP request bodies → ``ExportTraceServiceRequest``, and response bodies back.

Follows the OTLP/HTTP specification: ``application/x-protobuf`` or ``application/json`` (ids as hex strings,
enums as integers, 64-bit integers as strings or numbers, unknown fields ignored), optional
``Content-Encoding: gzip``; responses use the request's content type.

Decompression is streamed: it stops at the request's inflated-size limit, and each inflated step is
reserved from the receiver's budget shared by all requests in flight before it is kept, so a gzip bomb
costs at most its share of that budget (one whose gzip trailer announces its size costs nothing).
:func:`reject_invalid_spans` removes the spans the table cannot hold before they are mapped to rows, so
one bad span is answered as an OTLP partial success instead of failing a whole insert later.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from smarter_obs.errors import SourceDataError, SourceUnavailableError

__all__ = [
    "JSON",
    "MAX_TIME_UNIX_NANO",
    "PROTOBUF",
    "DecodeError",
    "OverloadedError",
    "TooLargeError",
    "UnsupportedMediaTypeError",
    "decode_request",
    "encode_response",
    "encode_status",
    "media_type",
    "reject_invalid_spans",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

#: Latest span time ``otel_traces`` can hold, 2106-02-07T06:28:15.999999999Z in Unix nanoseconds.
#: ``Timestamp`` is ``DateTime64(9)`` (up to 2262-04-11), but the table's partition, sorting and TTL keys
#: are ``toDate``/``toDateTime`` of it, 32-bit seconds that wrap after 2106-02-07T06:28:15Z: a later span
#: would be filed under a wrong day and expired at once by the TTL.
MAX_TIME_UNIX_NANO = (2**32 - 1) * 10**9 + 999_999_999
_MAX_TIME_TEXT = datetime.fromtimestamp(2**32 - 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
#: Output bytes inflated (and reserved from the budget) per step, and input bytes fed per step.
_INFLATE_STEP = 256 << 10
_INPUT_STEP = 64 << 10
#: Deflate's best ratio is 1032:1 (a 258-byte match in ~2 bits).
_MAX_RATIO = 1032


class DecodeError(SourceDataError):
    """The body cannot be decoded (HTTP 400, not retryable)."""


class TooLargeError(DecodeError):
    """The body, compressed or inflated, exceeds its limit (HTTP 413, not retryable)."""


class UnsupportedMediaTypeError(SourceDataError):
    """Neither protobuf nor JSON (HTTP 415)."""


class OverloadedError(SourceUnavailableError):
    """Requests in flight already hold the receiver's memory budget (HTTP 503 + Retry-After: retry)."""


def media_type(content_type: str | None) -> str:
    """``PROTOBUF`` or ``JSON`` from a Content-Type header; raises UnsupportedMediaTypeError."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if base == JSON:
        return JSON
    raise UnsupportedMediaTypeError(
        f"unsupported Content-Type {content_type!r}: send {PROTOBUF} or {JSON}", source="otlp"
    )


def _decompress(
    body: bytes | bytearray,
    encoding: str | None,
    max_size: int,
    reserve: Callable[[int], None] | None = None,
) -> bytes | bytearray:
    """The inflated body, at most ``max_size`` bytes (TooLargeError past it, without inflating further).

    ``reserve(n)`` is called before ``n`` more inflated bytes are held; it raises OverloadedError when the
    receiver's shared budget cannot hold them.
    """
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise UnsupportedMediaTypeError(
            f"unsupported Content-Encoding {encoding!r}: use gzip or none", source="otlp"
        )
    hint = 0
    if encoding != "deflate" and len(body) >= 18:
        # A gzip stream ends with its (last member's) size modulo 2**32: a bomb that says what it is
        # costs nothing, and an honest body is inflated into one buffer of the right size. A size
        # deflate cannot reach from this body is no size (a cut body): ignored.
        hint = int.from_bytes(body[-4:], "little")
        if hint > _MAX_RATIO * len(body):
            hint = 0
        elif hint > max_size:
            raise TooLargeError(f"inflated body of {hint} bytes exceeds {max_size}", source="otlp")
    try:
        return _inflate(
            body, 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS, max_size, hint, reserve
        )
    except zlib.error as exc:
        raise DecodeError(f"body is not valid {encoding}: {exc}", source="otlp") from None


def _inflate(
    body: bytes | bytearray, wbits: int, max_size: int, hint: int, reserve: Callable[[int], None] | None
) -> bytes | bytearray:
    """Inflate step by step into a buffer of ``hint`` bytes, past it into a list of pieces.

    Memory held is what was inflated plus one step of input and output: a buffer grown by reallocation
    would need up to twice its size while copied, and zlib copies the input not consumed yet on every
    call, so the input is fed in small slices.
    """
    reserve = reserve or (lambda size: None)
    reserve(hint)
    out = bytearray(hint)
    extra: list[bytes] = []
    size = position = 0
    view = memoryview(body)
    pending: bytes | memoryview = b""
    decompressor = zlib.decompressobj(wbits)
    while True:
        piece = decompressor.decompress(pending, _INFLATE_STEP)
        if size + len(piece) > max_size:
            raise TooLargeError(f"inflated body exceeds {max_size} bytes", source="otlp")
        fits = max(0, min(len(piece), hint - size))
        out[size : size + fits] = memoryview(piece)[:fits]
        if fits < len(piece):
            reserve(len(piece) - fits)
            extra.append(piece[fits:])
        size += len(piece)
        pending = decompressor.unconsumed_tail
        if decompressor.eof:
            rest = decompressor.unused_data + view[position:]
            if not rest:
                break
            # gzip allows several members in a row
            view, position, pending = memoryview(rest), 0, b""
            decompressor = zlib.decompressobj(wbits)
        elif not pending:
            if position < len(view):
                pending = view[position : position + _INPUT_STEP]
                position += len(pending)
            elif len(piece) < _INFLATE_STEP:
                raise DecodeError("body is truncated", source="otlp")
    if extra:  # several gzip members, or no size hint (deflate): one copy to a contiguous body
        reserve(size)
        return b"".join([memoryview(out)[:size], *extra])
    del out[size:]
    return out


def _hex_to_b64(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"{field} must be a hex string, got {type(value).__name__}", source="otlp")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise DecodeError(f"{field} {value[:40]!r} is not hex", source="otlp") from None
    return base64.b64encode(raw).decode()


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _fix_ids(obj: dict, path: str) -> None:
    for key in _ID_FIELDS:
        if key in obj and obj[key] not in (None, ""):
            obj[key] = _hex_to_b64(obj[key], f"{path}.{key}")


def _json_to_request(data: bytes) -> Any:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"body is not JSON: {exc}", source="otlp") from None
    except RecursionError:
        raise DecodeError("body is not OTLP JSON: nested too deeply", source="otlp") from None
    if not isinstance(document, dict):
        raise DecodeError("body must be a JSON object with resourceSpans", source="otlp")
    # OTLP/JSON carries ids as hex, protobuf's JSON mapping expects base64 for bytes fields.
    for r, resource_spans in enumerate(document.get("resourceSpans") or document.get("resource_spans") or []):
        scopes = (
            resource_spans.get("scopeSpans") or resource_spans.get("scope_spans") or []
            if isinstance(resource_spans, dict)
            else []
        )
        for s, scope_spans in enumerate(scopes):
            spans = scope_spans.get("spans") or [] if isinstance(scope_spans, dict) else []
            for i, span in enumerate(spans):
                if not isinstance(span, dict):
                    continue
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                _fix_ids(span, where)
                for j, link in enumerate(span.get("links") or []):
                    if isinstance(link, dict):
                        _fix_ids(link, f"{where}.links[{j}]")
    try:
        return json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise DecodeError(f"invalid OTLP JSON: {exc}", source="otlp") from None
    except RecursionError:
        raise DecodeError("invalid OTLP JSON: nested too deeply", source="otlp") from None


def decode_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None = None,
    *,
    max_size: int = 64 << 20,
    reserve: Callable[[int], None] | None = None,
) -> tuple[Any, str]:
    """``(ExportTraceServiceRequest, media type)`` of a body inflated to at most ``max_size`` bytes.

    DecodeError → 400 (TooLargeError → 413), UnsupportedMediaTypeError → 415, OverloadedError (raised by
    ``reserve``, called before inflated bytes are kept) → 503.
    """
    kind = media_type(content_type)
    data = _decompress(body, content_encoding, max_size, reserve)
    if kind == JSON:
        return _json_to_request(data), kind
    from google.protobuf.message import DecodeError as ProtoDecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except (ProtoDecodeError, ValueError) as exc:
        raise DecodeError(f"body is not an OTLP ExportTraceServiceRequest: {exc}", source="otlp") from None
    return request, kind


def reject_invalid_spans(request: Any) -> tuple[int, str]:
    """Remove the spans ``otel_traces`` cannot hold from ``request``: ``(count removed, message)``.

    A span is rejected when its start, end or an event time is after :data:`MAX_TIME_UNIX_NANO`
    (typically a unit bug: microseconds sent as nanoseconds look like the year 2302 and beyond). The
    message names the first such span, for the sender's log.
    """
    limit = MAX_TIME_UNIX_NANO
    rejected, first = 0, ""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            spans = scope_spans.spans
            bad = []
            for i, span in enumerate(spans):  # the hot path of every request: one pass, few lookups
                if span.start_time_unix_nano > limit or span.end_time_unix_nano > limit:
                    bad.append(i)
                    continue
                events = span.events
                if events and any(event.time_unix_nano > limit for event in events):
                    bad.append(i)
            if not bad:
                continue
            if not first:
                first = _describe_bad_time(spans[bad[0]])
            rejected += len(bad)
            for i in reversed(bad):
                del spans[i]
    if not rejected:
        return 0, ""
    spans = "1 span" if rejected == 1 else f"{rejected} spans"
    return rejected, (
        f"{spans} rejected: times must be Unix epoch nanoseconds no later than {_MAX_TIME_TEXT}, "
        f"the latest otel_traces can hold; first: {first}"
    )


def _describe_bad_time(span: Any) -> str:
    if span.start_time_unix_nano > MAX_TIME_UNIX_NANO:
        field, value = "start_time_unix_nano", span.start_time_unix_nano
    elif span.end_time_unix_nano > MAX_TIME_UNIX_NANO:
        field, value = "end_time_unix_nano", span.end_time_unix_nano
    else:
        field = "events.time_unix_nano"
        value = max(event.time_unix_nano for event in span.events)
    return f"span {span.span_id.hex()} of trace {span.trace_id.hex()} ({span.name!r}) has {field} = {value}"


def encode_response(rejected: int, message: str, kind: str) -> bytes:
    """An ``ExportTraceServiceResponse`` (with ``partial_success`` when spans were rejected)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if kind == JSON:
        if not (rejected or message):
            return b"{}"
        return json.dumps(
            {"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}}
        ).encode()
    return response.SerializeToString()


def encode_status(code: int, message: str, kind: str) -> bytes:
    """A ``google.rpc.Status`` body for an error response."""
    if kind == JSON:
        return json.dumps({"code": code, "message": message}).encode()
    from google.rpc.status_pb2 import Status

    return Status(code=code, message=message).SerializeToString()
