"""OTLP/HTTP request bodies → ``ExportTraceServiceRequest``, and response bodies back.

Follows the OTLP/HTTP specification: ``application/x-protobuf`` or ``application/json`` (ids as hex strings,
enums as integers, 64-bit integers as strings or numbers, unknown fields ignored), optional
``Content-Encoding: gzip``; responses use the request's content type.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from smarter_obs.errors import SourceDataError

__all__ = [
    "JSON",
    "PROTOBUF",
    "DecodeError",
    "UnsupportedMediaTypeError",
    "decode_request",
    "encode_response",
    "encode_status",
    "media_type",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class DecodeError(SourceDataError):
    """The body cannot be decoded (HTTP 400, not retryable)."""


class UnsupportedMediaTypeError(SourceDataError):
    """Neither protobuf nor JSON (HTTP 415)."""


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


def _decompress(body: bytes, encoding: str | None, max_size: int) -> bytes:
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedMediaTypeError(
            f"unsupported Content-Encoding {encoding!r}: use gzip or none", source="otlp"
        )
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        data = decompressor.decompress(body, max_size + 1)
    except zlib.error as exc:
        raise DecodeError(f"body is not valid {encoding}: {exc}", source="otlp") from None
    if len(data) > max_size or decompressor.unconsumed_tail:
        raise DecodeError(f"decompressed body exceeds {max_size} bytes", source="otlp")
    return data


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


def decode_request(
    body: bytes, content_type: str | None, content_encoding: str | None = None, *, max_size: int = 64 << 20
) -> tuple[Any, str]:
    """``(ExportTraceServiceRequest, media type)``; DecodeError → 400, UnsupportedMediaTypeError → 415."""
    kind = media_type(content_type)
    data = _decompress(body, content_encoding, max_size)
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
