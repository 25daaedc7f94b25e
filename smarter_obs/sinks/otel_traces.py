"""OpenTelemetry spans → ``otel_traces`` columns, the way the Collector's clickhouseexporter writes them.

Two inputs, one output: SDK ``ReadableSpan`` objects (the in-process exporter) and OTLP protobuf
``ExportTraceServiceRequest`` messages (the OTLP receiver). Both paths produce identical rows for the same span:

- ``Timestamp`` = start time (integer nanoseconds), ``Duration`` = end − start in nanoseconds (≥ 0);
- ids as lowercase hex, ``''`` when unset; ``TraceState`` in W3C header form;
- ``SpanKind`` ``Unspecified|Internal|Server|Client|Producer|Consumer``, ``StatusCode`` ``Unset|Ok|Error``;
- attribute values stringified like pdata's ``Value.AsString()``: ``true``/``false``, integers in decimal,
  floats in shortest form without exponent (``2`` not ``2.0``), bytes in base64, arrays and maps as compact JSON;
- ``ServiceName`` = resource ``service.name``; ``ScopeName``/``ScopeVersion`` from the instrumentation scope.

Rows are never materialised: spans are appended to flat column lists (:class:`SpanColumns`) that become one
Arrow table per insert (:mod:`smarter_obs.sinks._arrow`).
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
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
)
#: OTLP enum value → column value. The SDK's SpanKind enum is OTLP's minus one.
SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")

_SERVICE_NAME = "service.name"
_MCP_METHOD = "mcp.method.name"
_TOOL_NAME = "gen_ai.tool.name"
_OPERATION = "gen_ai.operation.name"
_EMPTY: dict[str, str] = {}


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
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_encode(v)}" for k, v in value.items())
            + "}"
        )
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
#: Attribute keys and stringified values of one resource, plus its service name (cached per Resource).
_ResourceEntry = tuple[tuple[str, ...], tuple[str, ...], str]
#: Instrumentation scope name and version.
_ScopeEntry = tuple[str, str]
_NO_SCOPE: _ScopeEntry = ("", "")


class SpanColumns:
    """A block of ``otel_traces`` rows held column-wise, ready to become one Arrow table.

    Scalar columns are plain lists; ``SpanAttributes`` is flat (a count per row, then all keys and all
    values); resource and scope are *runs* (``[first_row, resource, scope]``, consecutive spans of one
    provider share one run); events and links are sparse (``(row, entries)`` for the few spans that have
    any). Flat lists are what Arrow builds its arrays from without a per-row Python step, and appending to
    them is the cheapest way to read a span: the span's fields are read once, while they are in cache.
    """

    __slots__ = (
        "attribute_counts",
        "attribute_keys",
        "attribute_values",
        "durations",
        "events",
        "kinds",
        "links",
        "parent_span_ids",
        "runs",
        "span_ids",
        "span_names",
        "status_codes",
        "status_messages",
        "timestamps",
        "trace_ids",
        "trace_states",
    )

    def __init__(self) -> None:
        self.timestamps: list[int] = []
        self.trace_ids: list[str] = []
        self.span_ids: list[str] = []
        self.parent_span_ids: list[str] = []
        self.trace_states: list[str] = []
        self.span_names: list[str] = []
        self.kinds: list[int] = []  # OTLP enum value, index into SPAN_KINDS
        self.durations: list[int] = []
        self.status_codes: list[int] = []  # index into STATUS_CODES
        self.status_messages: list[str] = []
        self.attribute_counts: list[int] = []
        self.attribute_keys: list[str] = []
        self.attribute_values: list[Any] = []  # str, or a raw SDK value stringified when the block is built
        self.runs: list[list[Any]] = []
        #: ``(row, [(timestamp, name, attributes), ...])``
        self.events: list[tuple[int, list[tuple[int, str, dict[str, str]]]]] = []
        #: ``(row, [(trace_id, span_id, trace_state, attributes), ...])``
        self.links: list[tuple[int, list[tuple[str, str, str, dict[str, str]]]]] = []

    def __len__(self) -> int:
        return len(self.timestamps)

    def _run(self, row: int, resource: _ResourceEntry, scope: _ScopeEntry) -> None:
        runs = self.runs
        if runs:
            last = runs[-1]
            if last[1] is resource and last[2] is scope:
                return
            if last[0] == row:  # an empty run (every span of it was filtered out)
                runs.pop()
                if runs and runs[-1][1] is resource and runs[-1][2] is scope:
                    return
        runs.append([row, resource, scope])

    def _appenders(self) -> tuple[Callable[[Any], None], ...]:
        """Bound ``append`` of each scalar column and ``extend`` of the attribute keys and values, in the
        order the mappers unpack them."""
        return (
            self.timestamps.append,
            self.trace_ids.append,
            self.span_ids.append,
            self.parent_span_ids.append,
            self.trace_states.append,
            self.span_names.append,
            self.kinds.append,
            self.durations.append,
            self.status_codes.append,
            self.status_messages.append,
            self.attribute_counts.append,
            self.attribute_keys.extend,
            self.attribute_values.extend,
        )

    def extend(self, other: SpanColumns) -> None:
        offset = len(self)
        for run in other.runs:
            if run[0] < len(other):
                self._run(run[0] + offset, run[1], run[2])
        self.events.extend((row + offset, entries) for row, entries in other.events)
        self.links.extend((row + offset, entries) for row, entries in other.links)
        for name in _LIST_SLOTS:
            getattr(self, name).extend(getattr(other, name))

    @classmethod
    def concat(cls, blocks: Sequence[SpanColumns]) -> SpanColumns:
        if len(blocks) == 1:
            return blocks[0]
        out = cls()
        for block in blocks:
            out.extend(block)
        return out

    def _run_rows(self) -> list[tuple[int, _ResourceEntry, _ScopeEntry]]:
        """``(row count, resource, scope)`` per non-empty run."""
        bounds = [run[0] for run in self.runs] + [len(self)]
        return [
            (bounds[i + 1] - run[0], run[1], run[2])
            for i, run in enumerate(self.runs)
            if bounds[i + 1] > run[0]
        ]

    def to_arrow(self) -> Any:
        """The block as a ``pyarrow.Table`` of ``otel_traces`` columns, in the table's sorting-key order.

        Columns whose every value is the column default are left out (ClickHouse fills them).
        """
        from smarter_obs.sinks import _arrow

        return _arrow.span_table(self)

    def rows(self) -> list[dict[str, Any]]:
        """Rows as dicts in ``COLUMNS`` order (for tests and debugging; inserts go through ``to_arrow``)."""
        values = iter(_strings(self.attribute_values))
        keys = iter(self.attribute_keys)
        resources = [entry for count, res, scope in self._run_rows() for entry in [(res, scope)] * count]
        events = dict(self.events)
        links = dict(self.links)
        rows = []
        for row in range(len(self)):
            (res_keys, res_values, service), (scope_name, scope_version) = resources[row]
            row_events = events.get(row, ())
            row_links = links.get(row, ())
            rows.append(
                {
                    "Timestamp": self.timestamps[row],
                    "TraceId": self.trace_ids[row],
                    "SpanId": self.span_ids[row],
                    "ParentSpanId": self.parent_span_ids[row],
                    "TraceState": self.trace_states[row],
                    "SpanName": self.span_names[row],
                    "SpanKind": SPAN_KINDS[self.kinds[row]],
                    "ServiceName": service,
                    "ResourceAttributes": dict(zip(res_keys, res_values)),
                    "ScopeName": scope_name,
                    "ScopeVersion": scope_version,
                    "SpanAttributes": {next(keys): next(values) for _ in range(self.attribute_counts[row])},
                    "Duration": self.durations[row],
                    "StatusCode": STATUS_CODES[self.status_codes[row]],
                    "StatusMessage": self.status_messages[row],
                    "Events.Timestamp": [e[0] for e in row_events],
                    "Events.Name": [e[1] for e in row_events],
                    "Events.Attributes": [e[2] for e in row_events],
                    "Links.TraceId": [link[0] for link in row_links],
                    "Links.SpanId": [link[1] for link in row_links],
                    "Links.TraceState": [link[2] for link in row_links],
                    "Links.Attributes": [link[3] for link in row_links],
                }
            )
        return rows


_LIST_SLOTS = tuple(name for name in SpanColumns.__slots__ if name not in ("runs", "events", "links"))


def _strings(values: list[Any]) -> list[str]:
    """``values`` with every non-string stringified as the Map columns store it."""
    return [v if v.__class__ is str else attribute_string(v) for v in values]


# -- SDK spans -------------------------------------------------------------------------------------------
_scope_cache: dict[int, tuple[Any, _ScopeEntry]] = {}
_resource_cache: dict[int, tuple[Any, _ResourceEntry]] = {}


def _resource(resource: Any) -> _ResourceEntry:
    """Stringified resource attributes and service name, cached per Resource object (one per provider)."""
    key = id(resource)
    hit = _resource_cache.get(key)
    if hit is not None and hit[0] is resource:
        return hit[1]
    attrs = _attributes(resource.attributes if resource is not None else None)
    if len(_resource_cache) > 256:
        _resource_cache.clear()
    entry = (tuple(attrs), tuple(attrs.values()), attrs.get(_SERVICE_NAME, ""))
    _resource_cache[key] = (resource, entry)
    return entry


def _scope(scope: Any) -> _ScopeEntry:
    if scope is None:
        return _NO_SCOPE
    key = id(scope)
    hit = _scope_cache.get(key)
    if hit is not None and hit[0] is scope:
        return hit[1]
    if len(_scope_cache) > 1024:
        _scope_cache.clear()
    entry = (scope.name or "", scope.version or "")
    _scope_cache[key] = (scope, entry)
    return entry


def _trace_state(state: Any) -> str:
    return state.to_header() if state else ""


def _sdk_fast_types() -> tuple[type, ...]:
    from opentelemetry.sdk.trace import ReadableSpan, _Span

    return ReadableSpan, _Span


_FAST_TYPES: tuple[type, ...] | None = None


def from_sdk_spans(spans: Iterable[Any], into: SpanColumns | None = None) -> SpanColumns:
    """Columns for finished SDK spans (``opentelemetry.sdk.trace.ReadableSpan``), appended to ``into``."""
    global _FAST_TYPES
    if _FAST_TYPES is None:
        _FAST_TYPES = _sdk_fast_types()
    fast_types = _FAST_TYPES
    block = into if into is not None else SpanColumns()
    # Bound methods once: this loop is the exporter's hot path (a few µs per span).
    (
        ts,
        trace_ids,
        span_ids,
        parents,
        states,
        names,
        kinds,
        durations,
        codes,
        messages,
        counts,
        keys,
        values,
    ) = block._appenders()
    add_events, add_links = block.events.append, block.links.append
    attrs_of = _attributes
    kind_values = {kind.value: kind.value + 1 for kind in _sdk_kinds()}  # SDK enum + 1 = OTLP enum
    row = len(block)
    last_resource = last_scope = object()
    resource = scope = None
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
        if span_resource is not last_resource or span_scope is not last_scope:
            resource = _resource(span_resource)
            scope = _scope(span_scope)
            last_resource, last_scope = span_resource, span_scope
            block._run(row, resource, scope)
        start = start or 0
        ts(start)
        # int.to_bytes().hex() is several times faster than f"{id:032x}" (same lowercase, zero-padded text)
        trace_ids(ctx.trace_id.to_bytes(16, "big").hex())
        span_ids(ctx.span_id.to_bytes(8, "big").hex())
        parents(parent.span_id.to_bytes(8, "big").hex() if parent is not None and parent.span_id else "")
        state = ctx.trace_state
        states(state.to_header() if state is not None and len(state._dict) else "")
        names(name)
        kinds(kind_values[kind])
        if attributes:
            keys(attributes)
            values(attributes.values())
            counts(len(attributes))
        else:
            counts(0)
        durations(end - start if end and end > start else 0)
        codes(code)
        messages(description or "")
        if events:
            add_events((row, [(e.timestamp, e.name, attrs_of(e.attributes)) for e in events]))
        if links:
            add_links(
                (
                    row,
                    [
                        (
                            f"{link.context.trace_id:032x}",
                            f"{link.context.span_id:016x}",
                            _trace_state(link.context.trace_state),
                            attrs_of(link.attributes),
                        )
                        for link in links
                    ],
                )
            )
        row += 1
    return block


def _sdk_kinds() -> Iterable[Any]:
    from opentelemetry.trace import SpanKind

    return SpanKind


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
    return (
        len(span.trace_id) == 16
        and len(span.span_id) == 8
        and any(span.trace_id)
        and any(span.span_id)
        and len(span.parent_span_id) in (0, 8)
    )


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
    (
        ts,
        trace_ids,
        span_ids,
        parents,
        states,
        names,
        kinds,
        durations,
        codes,
        messages,
        counts,
        keys,
        values,
    ) = block._appenders()
    accepted = rejected = 0
    attrs_of = _otlp_attributes
    for resource_spans in request.resource_spans:
        attrs = attrs_of(resource_spans.resource.attributes)
        resource = (tuple(attrs), tuple(attrs.values()), attrs.get(_SERVICE_NAME, ""))
        for scope_spans in resource_spans.scope_spans:
            block._run(len(block), resource, (scope_spans.scope.name, scope_spans.scope.version))
            for span in scope_spans.spans:
                if not _valid_ids(span):
                    rejected += 1
                    continue
                attributes = attrs_of(span.attributes)
                if keep is not None and not keep(span.name, attributes):
                    continue
                accepted += 1
                row = len(block)
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                ts(start)
                trace_ids(span.trace_id.hex())
                span_ids(span.span_id.hex())
                parents(_hex(span.parent_span_id))
                states(span.trace_state)
                names(span.name)
                kind = span.kind
                kinds(kind if 0 <= kind < 6 else 0)
                keys(attributes)
                values(attributes.values())
                counts(len(attributes))
                durations(end - start if end > start else 0)
                code = span.status.code
                codes(code if 0 <= code < 3 else 0)
                messages(span.status.message)
                if span.events:
                    block.events.append(
                        (row, [(e.time_unix_nano, e.name, attrs_of(e.attributes)) for e in span.events])
                    )
                if span.links:
                    block.links.append(
                        (
                            row,
                            [
                                (
                                    _hex(link.trace_id),
                                    _hex(link.span_id),
                                    link.trace_state,
                                    attrs_of(link.attributes),
                                )
                                for link in span.links
                            ],
                        )
                    )
    message = (
        f"{rejected} spans rejected: trace id must be 16 bytes and span id 8 bytes, not all zero"
        if rejected
        else ""
    )
    return block, accepted, rejected, message
