"""OpenTelemetry spans → ``otel_traces`` columns, the way the Collector's clickhouseexporter writes them.

Two inputs, one output: SDK ``ReadableSpan`` objects (the in-process exporter) and OTLP protobuf
``ExportTraceServiceRequest`` messages (the OTLP receiver). Both paths produce identical rows for the same
span:

- ``Timestamp`` = start time (integer nanoseconds), ``Duration`` = end − start in nanoseconds (≥ 0);
- ids as lowercase hex, ``''`` when unset; ``TraceState`` in W3C header form;
- ``SpanKind`` ``Unspecified|Internal|Server|Client|Producer|Consumer``, ``StatusCode`` ``Unset|Ok|Error``;
- attribute values stringified like pdata's ``Value.AsString()``: ``true``/``false``, integers in decimal,
  floats in shortest form without exponent (``2`` not ``2.0``), bytes in base64, arrays and maps as compact
  JSON;
- ``ServiceName`` = resource ``service.name``; ``ScopeName``/``ScopeVersion`` from the instrumentation scope.

Rows are never materialised: spans are appended to flat column lists (:class:`SpanColumns`) that become one
Arrow table per insert (:meth:`SpanColumns.to_arrow`, the exporter's and the receiver's insert format).

Why Arrow: ClickHouse parses an Arrow block with less work than the same block in Native format, and
pyarrow builds each column from a Python list in one C++ pass, where clickhouse-connect's Native writer
spends several microseconds of Python per span. Low-cardinality columns travel dictionary-encoded, which
ClickHouse turns into ``LowCardinality`` without hashing every value; the resource and scope columns are
dictionary indices built from their runs, never from per-row Python objects. Rows are put in the table's
sorting-key order, so ClickHouse does not sort and permute the block again.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
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
    "span_table",
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
        return span_table(self)

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
                    "ResourceAttributes": dict(zip(res_keys, res_values, strict=True)),
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
    """True for MCP spans (``mcp.method.name`` set) and tool executions (GenAI ``execute_tool``,
    Traceloop)."""
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


# -- Arrow -----------------------------------------------------------------------------------------------
# numpy and pyarrow are imported with the first table, not with this module: init_tracing(exporter=
# "clickhouse") and the receiver import the mapping long before they insert anything.
np: Any = None
pa: Any = None
_STRING: Any = None
_TIMESTAMP: Any = None


def _import_arrow() -> None:
    global np, pa, _STRING, _TIMESTAMP
    import numpy
    import pyarrow

    np, pa = numpy, pyarrow
    _STRING, _TIMESTAMP = pa.string(), pa.timestamp("ns", tz="UTC")


@cache
def _enum_dictionary(values: tuple[str, ...]) -> pa.Array:
    return pa.array(values, _STRING)


def _offsets(counts: Any) -> pa.Array:
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.array(offsets)


def _strings_or_none(values: list[str]) -> pa.Array | None:
    """A string column, or None when every value is ``''`` (the column default: left out of the insert)."""
    return pa.array(values, _STRING) if any(values) else None


def _string_values(values: list[Any]) -> pa.Array:
    """Attribute values as a string array; SDK values that are not strings are stringified first."""
    if values:
        # All-str lists convert directly; anything else (numbers, bools, sequences, bytes, which Arrow
        # would store as raw binary) takes the stringifying path.
        try:
            array = pa.array(values)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
        else:
            if array.type == _STRING and not array.null_count:
                return array
    return pa.array(_strings(values), _STRING)


def _map(counts: Any, keys: list[str], values: list[Any]) -> pa.Array:
    # Keys travel dictionary-encoded: the columns' keys are LowCardinality, which ClickHouse then fills from
    # the dictionary instead of hashing every key of every row (measured: ~1 µs less insert work per span).
    return pa.MapArray.from_arrays(
        _offsets(counts), pa.array(keys, _STRING).dictionary_encode(), _string_values(values)
    )


def _unique_index(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Per value, its index among the distinct values (first-seen order); and the distinct values."""
    unique: dict[Any, int] = {}
    indices = [unique.setdefault(value, len(unique)) for value in values]
    return np.asarray(indices, dtype=np.int32), list(unique)


def _dictionary(per_run: list[str], run_of_row: np.ndarray) -> pa.DictionaryArray:
    """A dictionary-encoded column from one value per run (dictionary values must be unique)."""
    index, unique = _unique_index(per_run)
    return pa.DictionaryArray.from_arrays(pa.array(index[run_of_row]), pa.array(unique, _STRING))


def _resource_map(
    per_run: list[tuple[tuple[str, ...], tuple[str, ...], str]], run_of_row: np.ndarray
) -> pa.Array:
    """``ResourceAttributes``: each distinct resource's pairs stored once and referenced per row."""
    index, unique = _unique_index([(keys, values) for keys, values, _ in per_run])
    sizes = np.asarray([len(keys) for keys, _ in unique], dtype=np.int32)
    bases = np.zeros(len(unique), dtype=np.int64)
    np.cumsum(sizes[:-1], out=bases[1:])
    resource_of_row = index[run_of_row]
    counts = sizes[resource_of_row]
    offsets = _offsets(counts)
    starts = offsets.to_numpy()[:-1]
    # element i of row r is pair bases[r] + (i - starts[r])
    gather = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(bases[resource_of_row] - starts, counts)
    # Pairs as dictionary indices: no string is copied per row, and LowCardinality keys come for free.
    key_index, key_dictionary = _unique_index([key for keys, _ in unique for key in keys])
    value_index, value_dictionary = _unique_index([value for _, values in unique for value in values])
    keys = pa.DictionaryArray.from_arrays(pa.array(key_index[gather]), pa.array(key_dictionary, _STRING))
    values = pa.DictionaryArray.from_arrays(
        pa.array(value_index[gather]), pa.array(value_dictionary, _STRING)
    )
    return pa.MapArray.from_arrays(offsets, keys, values)


def _sparse_counts(entries: list[tuple[int, list]], rows: int) -> np.ndarray:
    counts = np.zeros(rows, dtype=np.int32)
    for row, items in entries:
        counts[row] = len(items)
    return counts


def _nested_maps(maps: list[dict[str, str]]) -> pa.Array:
    return _map([len(m) for m in maps], [k for m in maps for k in m], [v for m in maps for v in m.values()])


#: Nested sub-columns and the kind of each field of the sparse entries (None: an attribute map).
_EVENT_FIELDS = (("Events.Timestamp", "timestamp"), ("Events.Name", "string"), ("Events.Attributes", None))
_LINK_FIELDS = (
    ("Links.TraceId", "string"),
    ("Links.SpanId", "string"),
    ("Links.TraceState", "string"),
    ("Links.Attributes", None),
)


def _nested(
    entries: list[tuple[int, list[tuple]]], rows: int, fields: tuple[tuple[str, str | None], ...]
) -> dict[str, pa.Array]:
    """The list columns of a Nested structure from sparse ``(row, [entry, ...])`` pairs."""
    offsets = _offsets(_sparse_counts(entries, rows))
    flat = [entry for _, items in entries for entry in items]
    types = {"string": _STRING, "timestamp": _TIMESTAMP}
    return {
        name: pa.ListArray.from_arrays(
            offsets,
            _nested_maps([e[i] for e in flat])
            if kind is None
            else pa.array([e[i] for e in flat], types[kind]),
        )
        for i, (name, kind) in enumerate(fields)
    }


def span_table(block: SpanColumns) -> pa.Table:
    """The block as an Arrow table of ``otel_traces`` columns, rows in the table's sorting-key order.

    Columns whose every value is the column default (``ParentSpanId``, ``TraceState``, ``StatusMessage`` all
    ``''``; no events; no links) are left out: ClickHouse fills them for free.
    """
    if pa is None:
        _import_arrow()
    runs = block._run_rows()
    run_of_row = np.repeat(np.arange(len(runs), dtype=np.int32), [run[0] for run in runs])
    services = [run[1][2] for run in runs]
    timestamps = pa.array(block.timestamps, _TIMESTAMP)
    names = pa.array(block.span_names, _STRING).dictionary_encode()
    order = _sorting_key_order(timestamps, names, services, run_of_row)
    rows = {
        "Timestamp": timestamps,
        "TraceId": pa.array(block.trace_ids, _STRING),
        "SpanId": pa.array(block.span_ids, _STRING),
        "ParentSpanId": _strings_or_none(block.parent_span_ids),
        "TraceState": _strings_or_none(block.trace_states),
        "SpanName": names,
        "SpanKind": pa.DictionaryArray.from_arrays(
            pa.array(block.kinds, pa.int8()), _enum_dictionary(SPAN_KINDS)
        ),
        "SpanAttributes": _map(block.attribute_counts, block.attribute_keys, block.attribute_values),
        "Duration": pa.array(block.durations, pa.uint64()),
        "StatusCode": pa.DictionaryArray.from_arrays(
            pa.array(block.status_codes, pa.int8()), _enum_dictionary(STATUS_CODES)
        ),
        "StatusMessage": _strings_or_none(block.status_messages),
    }
    rows = {name: column for name, column in rows.items() if column is not None}
    if block.events:
        rows.update(_nested(block.events, len(block), _EVENT_FIELDS))
    if block.links:
        rows.update(_nested(block.links, len(block), _LINK_FIELDS))
    if order is not None:
        rows = dict(zip(rows, pa.table(rows).take(pa.array(order)).columns, strict=True))
        run_of_row = run_of_row[order]
    # Resource and scope columns are built after the sort, from the (sorted) run of each row: cheaper than
    # permuting a map column whose rows are all alike.
    rows["ServiceName"] = _dictionary(services, run_of_row)
    rows["ResourceAttributes"] = _resource_map([run[1] for run in runs], run_of_row)
    rows["ScopeName"] = _dictionary([run[2][0] for run in runs], run_of_row)
    rows["ScopeVersion"] = _dictionary([run[2][1] for run in runs], run_of_row)
    return pa.table({name: rows[name] for name in COLUMNS if name in rows})


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each value among ``values`` (code point order = UTF-8 byte order, as ClickHouse sorts)."""
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(values, kind="stable")] = np.arange(len(values))
    return rank


def _sorting_key_order(
    timestamps: pa.Array, names: pa.DictionaryArray, services: list[str], run_of_row: np.ndarray
) -> np.ndarray | None:
    """Row order of the table's sorting key ``(ServiceName, SpanName, Timestamp)``, None if already in it.

    ClickHouse skips its own sort (and the permutation of every column) for a block that already is in
    sorting-key order; sorting here on integer keys costs a fraction of that.
    """
    if len(run_of_row) < 2:
        return None
    name_rank = _ranks(names.dictionary.to_numpy(zero_copy_only=False))[names.indices.to_numpy()]
    index, unique = _unique_index(services)
    service_rank = _ranks(np.asarray(unique, dtype=object))[index][run_of_row]
    order = np.lexsort((timestamps.cast(pa.int64()).to_numpy(), name_rank, service_rank))
    return None if bool(np.all(order[1:] > order[:-1])) else order
