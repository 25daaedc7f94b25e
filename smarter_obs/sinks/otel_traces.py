"""OpenTelemetry spans → ``otel_traces`` columns, the way the Collector's clickhouseexporter writes them.

Two inputs, one output: SDK ``ReadableSpan`` objects (the in-process exporter) and OTLP protobuf
``ExportTraceServiceRequest`` messages (the OTLP receiver). Both paths produce identical rows for the same span:

- ``Timestamp`` = start time (integer nanoseconds), ``Duration`` = end − start in nanoseconds (≥ 0);
- ids as lowercase hex, ``''`` when unset; ``TraceState`` in W3C header form;
- ``SpanKind`` ``Unspecified|Internal|Server|Client|Producer|Consumer``, ``StatusCode`` ``Unset|Ok|Error``;
- attribute values stringified like pdata's ``Value.AsString()``: ``true``/``false``, integers in decimal,
  floats in shortest form without exponent (``2`` not ``2.0``), bytes in base64, arrays and maps as compact JSON;
- ``ServiceName`` = resource ``service.name``; ``ScopeName``/``ScopeVersion`` from the instrumentation scope.

Columns are built directly (no per-row tuples) because the insert is columnar.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "COLUMNS",
    "SPAN_KINDS",
    "STATUS_CODES",
    "TABLE",
    "SpanColumns",
    "attribute_string",
    "from_otlp",
    "from_sdk_spans",
    "is_mcp_or_tool_span",
]

TABLE = "otel_traces"
#: The clickhouseexporter INSERT column list, in its order.
COLUMNS: tuple[str, ...] = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
    "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode",
    "StatusMessage", "Events.Timestamp", "Events.Name", "Events.Attributes", "Links.TraceId", "Links.SpanId",
    "Links.TraceState", "Links.Attributes",
)
_EVENTS_TS = COLUMNS.index("Events.Timestamp")
_LINKS_TRACE = COLUMNS.index("Links.TraceId")
#: OTLP enum value → column value. The SDK's SpanKind enum is OTLP's minus one.
SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")

_SERVICE_NAME = "service.name"
_MCP_METHOD = "mcp.method.name"
_TOOL_NAME = "gen_ai.tool.name"
_OPERATION = "gen_ai.operation.name"
_EMPTY: dict[str, str] = {}
_NO_LIST: list = []


# -- value formatting ------------------------------------------------------------------------------------
def _float_string(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest round-trip digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" in text or "E" in text:
        from decimal import Decimal

        text = format(Decimal(text), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _json_ready(value: Any) -> Any:
    """Python value → what encoding/json would emit for the same pdata value (floats as Go prints them)."""
    if isinstance(value, float):
        return _RawJSON(_float_string(value) if math.isfinite(value) else json.dumps(_float_string(value)))
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


class _RawJSON(str):
    """A pre-encoded JSON number."""


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode(value: Any) -> str:
    if isinstance(value, _RawJSON):
        return str.__str__(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def attribute_string(value: Any) -> str:
    """One attribute value as the string stored in the Map columns."""
    cls = value.__class__
    if cls is str:
        return value
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is float:
        return _float_string(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, (list, tuple)):
        kinds = {v.__class__ for v in value}
        if kinds <= {str}:
            return _dumps(list(value))
        if kinds <= {int}:
            return "[" + ",".join(map(str, value)) + "]"
        if kinds <= {bool}:
            return "[" + ",".join("true" if v else "false" for v in value) + "]"
        return _encode(_json_ready(value))
    if isinstance(value, Mapping):
        return _encode(_json_ready(value))
    if value is None:
        return ""
    return str(value)


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, str]:
    if not attributes:
        return _EMPTY
    # BoundedAttributes iterates through the slow Mapping ABC; its backing dict is several times faster.
    plain = getattr(attributes, "_dict", attributes)
    return {k: (v if v.__class__ is str else attribute_string(v)) for k, v in plain.items()}


# -- the column block ------------------------------------------------------------------------------------
class SpanColumns:
    """A block of ``otel_traces`` rows held as one list per column (in ``COLUMNS`` order)."""

    __slots__ = ("columns",)

    def __init__(self, columns: list[list] | None = None) -> None:
        self.columns: list[list] = columns if columns is not None else [[] for _ in COLUMNS]

    def __len__(self) -> int:
        return len(self.columns[0])

    def extend(self, other: SpanColumns) -> None:
        for mine, theirs in zip(self.columns, other.columns):
            mine.extend(theirs)

    @classmethod
    def concat(cls, blocks: Sequence[SpanColumns]) -> SpanColumns:
        if len(blocks) == 1:
            return blocks[0]
        out = cls()
        for block in blocks:
            out.extend(block)
        return out

    def insert_columns(self) -> tuple[tuple[str, ...], list[list]]:
        """Column names and data for the insert, leaving out ``Events.*`` / ``Links.*`` when every row has
        none (ClickHouse fills the defaults; serialising empty arrays is a large share of the insert cost)."""
        names, data = [], []
        columns = self.columns
        skip_events = all(not x for x in columns[_EVENTS_TS])
        skip_links = all(not x for x in columns[_LINKS_TRACE])
        for index, (name, column) in enumerate(zip(COLUMNS, columns)):
            if (skip_events and _EVENTS_TS <= index < _LINKS_TRACE) or (skip_links and index >= _LINKS_TRACE):
                continue
            names.append(name)
            data.append(column)
        return tuple(names), data

    def rows(self) -> list[dict[str, Any]]:
        """Rows as dicts (for tests and debugging; the insert path stays columnar)."""
        return [dict(zip(COLUMNS, values)) for values in zip(*self.columns)]


# -- SDK spans -------------------------------------------------------------------------------------------
_scope_cache: dict[int, tuple[Any, str, str]] = {}
_resource_cache: dict[int, tuple[Any, dict[str, str], str]] = {}


def _resource(resource: Any) -> tuple[dict[str, str], str]:
    """Stringified resource attributes and service name, cached per Resource object (one per provider)."""
    key = id(resource)
    hit = _resource_cache.get(key)
    if hit is not None and hit[0] is resource:
        return hit[1], hit[2]
    attrs = _attributes(resource.attributes if resource is not None else None)
    if len(_resource_cache) > 256:
        _resource_cache.clear()
    _resource_cache[key] = (resource, attrs, attrs.get(_SERVICE_NAME, ""))
    return attrs, attrs.get(_SERVICE_NAME, "")


def _scope(scope: Any) -> tuple[str, str]:
    if scope is None:
        return "", ""
    key = id(scope)
    hit = _scope_cache.get(key)
    if hit is not None and hit[0] is scope:
        return hit[1], hit[2]
    if len(_scope_cache) > 1024:
        _scope_cache.clear()
    _scope_cache[key] = (scope, scope.name or "", scope.version or "")
    return scope.name or "", scope.version or ""


def _trace_state(state: Any) -> str:
    return state.to_header() if state else ""


def _sdk_fast_types() -> tuple[type, ...]:
    from opentelemetry.sdk.trace import ReadableSpan, _Span

    return ReadableSpan, _Span


_FAST_TYPES: tuple[type, ...] | None = None


def from_sdk_spans(spans: Iterable[Any], into: SpanColumns | None = None) -> SpanColumns:
    """Columns for finished SDK spans (``opentelemetry.sdk.trace.ReadableSpan``)."""
    global _FAST_TYPES
    if _FAST_TYPES is None:
        _FAST_TYPES = _sdk_fast_types()
    fast_types = _FAST_TYPES
    block = into if into is not None else SpanColumns()
    (ts, trace_ids, span_ids, parents, states, names, kinds, services, res_attrs, scope_names, scope_versions,
     span_attrs, durations, status_codes, status_messages, ev_ts, ev_names, ev_attrs, ln_trace, ln_span,
     ln_state, ln_attrs) = block.columns
    attrs_of = _attributes
    resource_of = _resource
    scope_of = _scope
    kind_names = {kind.value: SPAN_KINDS[kind.value + 1] for kind in _sdk_kinds()}
    status_names = {code.value: STATUS_CODES[code.value] for code in _sdk_status_codes()}

    last_resource = last_scope = object()
    resource = service = scope_name = scope_version = None
    for span in spans:
        if type(span) in fast_types:
            # The public properties copy events/links and wrap attributes on every access; the SDK's own
            # OTLP encoder is as slow for the same reason. Read the fields they wrap.
            ctx, start, end, parent = span._context, span._start_time, span._end_time, span._parent
            attributes, events, links = span._attributes, span._events, span._links
            status, name = span._status, span._name
            kind, code, description = span._kind._value_, status._status_code._value_, status._description
            span_resource, span_scope = span._resource, span._instrumentation_scope
            if attributes is not None and attributes.__class__ is not dict:
                attributes = getattr(attributes, "_dict", attributes)
            events = getattr(events, "_dq", events)
            links = getattr(links, "_dq", links)
        else:
            ctx, start, end, parent = span.context, span.start_time, span.end_time, span.parent
            attributes, events, links = span.attributes, span.events, span.links
            status, name = span.status, span.name
            kind, code, description = span.kind.value, status.status_code.value, status.description
            span_resource, span_scope = span.resource, span.instrumentation_scope
        if span_resource is not last_resource:
            resource, service = resource_of(span_resource)
            last_resource = span_resource
        if span_scope is not last_scope:
            scope_name, scope_version = scope_of(span_scope)
            last_scope = span_scope
        start = start or 0
        ts.append(start)
        trace_ids.append(f"{ctx.trace_id:032x}")
        span_ids.append(f"{ctx.span_id:016x}")
        parents.append(f"{parent.span_id:016x}" if parent is not None and parent.span_id else "")
        states.append(ctx.trace_state.to_header() if ctx.trace_state else "")
        names.append(name)
        kinds.append(kind_names[kind])
        services.append(service)
        res_attrs.append(resource)
        scope_names.append(scope_name)
        scope_versions.append(scope_version)
        span_attrs.append(
            {k: (v if v.__class__ is str else attribute_string(v)) for k, v in attributes.items()}
            if attributes else _EMPTY
        )
        durations.append(end - start if end and end > start else 0)
        status_codes.append(status_names[code])
        status_messages.append(description or "")
        if events:
            ev_ts.append([e.timestamp for e in events])
            ev_names.append([e.name for e in events])
            ev_attrs.append([attrs_of(e.attributes) for e in events])
        else:
            ev_ts.append(_NO_LIST)
            ev_names.append(_NO_LIST)
            ev_attrs.append(_NO_LIST)
        if links:
            ln_trace.append([f"{link.context.trace_id:032x}" for link in links])
            ln_span.append([f"{link.context.span_id:016x}" for link in links])
            ln_state.append([_trace_state(link.context.trace_state) for link in links])
            ln_attrs.append([attrs_of(link.attributes) for link in links])
        else:
            ln_trace.append(_NO_LIST)
            ln_span.append(_NO_LIST)
            ln_state.append(_NO_LIST)
            ln_attrs.append(_NO_LIST)
    return block


def _sdk_kinds() -> Iterable[Any]:
    from opentelemetry.trace import SpanKind

    return SpanKind


def _sdk_status_codes() -> Iterable[Any]:
    from opentelemetry.trace import StatusCode

    return StatusCode


# -- OTLP protobuf ---------------------------------------------------------------------------------------
def _any_value(value: Any) -> Any:
    """OTLP ``AnyValue`` → the equivalent Python value (str, bool, int, float, bytes, list, dict)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value
    return None


def _otlp_attributes(key_values: Sequence[Any]) -> dict[str, str]:
    if not key_values:
        return _EMPTY
    out = {}
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        out[kv.key] = value.string_value if kind == "string_value" else attribute_string(_any_value(value))
    return out


def _hex(raw: bytes) -> str:
    return raw.hex() if raw.strip(b"\0") else ""


def _valid_ids(span: Any) -> bool:
    return len(span.trace_id) == 16 and len(span.span_id) == 8 and any(span.trace_id) and any(span.span_id) \
        and len(span.parent_span_id) in (0, 8)


def is_mcp_or_tool_span(name: str, attributes: Mapping[str, str]) -> bool:
    """True for MCP spans (``mcp.method.name`` set) and tool executions (GenAI ``execute_tool``, Traceloop)."""
    return (
        _MCP_METHOD in attributes
        or _TOOL_NAME in attributes
        or attributes.get(_OPERATION) == "execute_tool"
        or name.startswith(("tools/call", "execute_tool"))
        or name.endswith(".tool")
    )


def from_otlp(
    request: Any,
    into: SpanColumns | None = None,
    keep: Callable[[str, Mapping[str, str]], bool] | None = None,
) -> tuple[SpanColumns, int, int, str]:
    """Columns for an ``ExportTraceServiceRequest``.

    Returns ``(columns, accepted, rejected, message)``: spans with invalid ids (trace id not 16 non-zero
    bytes, span id not 8) are rejected and counted, as OTLP partial success expects. Spans that ``keep``
    (called with span name and stringified attributes) declines are neither stored nor rejected.
    """
    block = into if into is not None else SpanColumns()
    (ts, trace_ids, span_ids, parents, states, names, kinds, services, res_attrs, scope_names, scope_versions,
     span_attrs, durations, status_codes, status_messages, ev_ts, ev_names, ev_attrs, ln_trace, ln_span,
     ln_state, ln_attrs) = block.columns
    accepted = rejected = 0
    attrs_of = _otlp_attributes
    for resource_spans in request.resource_spans:
        resource = attrs_of(resource_spans.resource.attributes)
        service = resource.get(_SERVICE_NAME, "")
        for scope_spans in resource_spans.scope_spans:
            scope_name = scope_spans.scope.name
            scope_version = scope_spans.scope.version
            for span in scope_spans.spans:
                if not _valid_ids(span):
                    rejected += 1
                    continue
                attributes = attrs_of(span.attributes)
                if keep is not None and not keep(span.name, attributes):
                    continue
                accepted += 1
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                ts.append(start)
                trace_ids.append(span.trace_id.hex())
                span_ids.append(span.span_id.hex())
                parents.append(_hex(span.parent_span_id))
                states.append(span.trace_state)
                names.append(span.name)
                kind = span.kind
                kinds.append(SPAN_KINDS[kind] if 0 <= kind < 6 else SPAN_KINDS[0])
                services.append(service)
                res_attrs.append(resource)
                scope_names.append(scope_name)
                scope_versions.append(scope_version)
                span_attrs.append(attributes)
                durations.append(end - start if end > start else 0)
                code = span.status.code
                status_codes.append(STATUS_CODES[code] if 0 <= code < 3 else STATUS_CODES[0])
                status_messages.append(span.status.message)
                events = span.events
                if events:
                    ev_ts.append([e.time_unix_nano for e in events])
                    ev_names.append([e.name for e in events])
                    ev_attrs.append([attrs_of(e.attributes) for e in events])
                else:
                    ev_ts.append(_NO_LIST)
                    ev_names.append(_NO_LIST)
                    ev_attrs.append(_NO_LIST)
                links = span.links
                if links:
                    ln_trace.append([_hex(link.trace_id) for link in links])
                    ln_span.append([_hex(link.span_id) for link in links])
                    ln_state.append([link.trace_state for link in links])
                    ln_attrs.append([attrs_of(link.attributes) for link in links])
                else:
                    ln_trace.append(_NO_LIST)
                    ln_span.append(_NO_LIST)
                    ln_state.append(_NO_LIST)
                    ln_attrs.append(_NO_LIST)
    message = f"{rejected} spans rejected: trace id must be 16 bytes and span id 8 bytes, not all zero" \
        if rejected else ""
    return block, accepted, rejected, message
