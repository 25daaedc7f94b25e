"""MCP tool spans following the OpenTelemetry MCP semantic conventions (semconv 1.41, Development status).

``tool_span`` / ``traced_tool`` produce one SERVER span ``tools/call {tool}`` with ``mcp.method.name``,
``gen_ai.operation.name=execute_tool``, ``gen_ai.tool.name``, ``mcp.session.id``, ``jsonrpc.request.id``.
When the current span already is the ``tools/call`` span of the same tool (the official ``mcp`` SDK v2
emits one per call) no second SERVER span is created: the attributes are added to that span instead.
Arguments are recorded (``gen_ai.tool.call.arguments``, truncated) only when asked.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, SpanKind, StatusCode

from smarter_obs.tracing._bootstrap import _PROXY

METHOD = "tools/call"
OPERATION = "execute_tool"
#: Longest ``gen_ai.tool.call.arguments`` value recorded; longer JSON is cut and ends with "…".
MAX_ARGUMENTS_CHARS = 2048

MCP_METHOD_NAME = "mcp.method.name"
MCP_SESSION_ID = "mcp.session.id"
JSONRPC_REQUEST_ID = "jsonrpc.request.id"
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
ERROR_TYPE = "error.type"

F = TypeVar("F", bound=Callable[..., Any])

_TRACER_NAME = "smarter_obs.mcp"
#: (provider, proxy generation, tracer): replaced as one object, so a swap never pairs old and new.
_cached: tuple[Any, int, trace.Tracer] | None = None


def _tracer() -> trace.Tracer:
    """The SDK tracer to start tool spans with, cached per provider and ``init_tracing`` generation.

    Behind smarter-obs's global proxy the active SDK provider's own tracer is used directly (the proxy's
    per-call indirection is for tracers handed out to other code); it is looked up again after every
    ``init_tracing``/``shutdown``, so functions decorated before ``init_tracing`` follow it. The API's
    placeholder provider (nothing global yet) is never cached: tests reset the global.
    """
    global _cached
    provider = trace.get_tracer_provider()
    generation = _PROXY._generation if provider is _PROXY else 0
    cached = _cached
    if cached is not None and cached[0] is provider and cached[1] == generation:
        return cached[2]
    from smarter_obs import __version__

    if provider is _PROXY:
        delegate = _PROXY._delegate
        tracer = trace.NoOpTracer() if delegate is None else delegate.get_tracer(_TRACER_NAME, __version__)
    else:
        tracer = provider.get_tracer(_TRACER_NAME, __version__)
        if isinstance(provider, trace.ProxyTracerProvider):
            return tracer
    _cached = (provider, generation, tracer)
    return tracer


def format_arguments(arguments: Any) -> str:
    """JSON text of ``arguments`` (sorted keys), cut to ``MAX_ARGUMENTS_CHARS``."""
    if isinstance(arguments, str):
        text = arguments
    else:
        import json

        try:
            text = json.dumps(arguments, sort_keys=True, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = str(arguments)
    if len(text) > MAX_ARGUMENTS_CHARS:
        text = text[: MAX_ARGUMENTS_CHARS - 1] + "…"
    return text


def _is_tool_call_span(span: trace.Span, tool_name: str) -> bool:
    """True when ``span`` is already the ``tools/call`` span of ``tool_name`` (ours or the mcp SDK's)."""
    if not span.is_recording():
        return False
    attributes = getattr(span, "attributes", None) or {}
    if attributes.get(MCP_METHOD_NAME) == METHOD:
        return attributes.get(GEN_AI_TOOL_NAME) == tool_name
    return (
        getattr(span, "name", None) == f"{METHOD} {tool_name}"
        and getattr(span, "kind", None) is SpanKind.SERVER
    )


def _attributes(tool_name: str, session_id: Any, request_id: Any, arguments: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        MCP_METHOD_NAME: METHOD,
        GEN_AI_OPERATION_NAME: OPERATION,
        GEN_AI_TOOL_NAME: tool_name,
    }
    if session_id is not None:
        attrs[MCP_SESSION_ID] = str(session_id)
    if request_id is not None:
        attrs[JSONRPC_REQUEST_ID] = str(request_id)
    if arguments is not None:
        attrs[GEN_AI_TOOL_CALL_ARGUMENTS] = format_arguments(arguments)
    return attrs


def _record_error(span: trace.Span, exc: BaseException) -> None:
    span.set_attribute(ERROR_TYPE, type(exc).__name__)
    span.record_exception(exc)
    span.set_status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:300])


def _start(tool_name: str, span_name: str, attributes: Mapping[str, Any]) -> tuple[trace.Span, object]:
    """Start the tool's span and make it current; returns (span, token for ``_end``).

    Inside the ``tools/call`` span of the same tool the attributes go onto that span instead and the
    token is None (nothing to end). No generator-based context manager is involved: this is the hot path
    of every tool call (``_end`` is its other half).
    """
    ctx = otel_context.get_current()
    current = trace.get_current_span(ctx)
    if _is_tool_call_span(current, tool_name):
        existing = getattr(current, "attributes", None) or {}
        # The SDK's own values (e.g. its jsonrpc.request.id) stay authoritative.
        current.set_attributes({k: v for k, v in attributes.items() if k not in existing})
        return current, None
    span = _tracer().start_span(
        span_name,
        ctx,
        SpanKind.SERVER,
        attributes,
        record_exception=False,
        set_status_on_exception=False,
    )
    if span is INVALID_SPAN:  # a no-op tracer: like its start_as_current_span, change nothing
        return span, None
    return span, otel_context.attach(trace.set_span_in_context(span, ctx))


def _end(span: trace.Span, token: object) -> None:
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]
        span.end()


class _ToolSpan:
    """What ``tool_span(...)`` returns: a context manager around ``_start``/``_end``."""

    __slots__ = ("_attributes", "_name", "_span", "_token", "_tool")

    def __init__(self, tool_name: str, attributes: dict[str, Any]) -> None:
        self._tool = tool_name
        self._name = f"{METHOD} {tool_name}"
        self._attributes = attributes

    def __enter__(self) -> trace.Span:
        self._span, self._token = _start(self._tool, self._name, self._attributes)
        return self._span

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        # Like the SDK: only Exception subclasses are errors (not GeneratorExit, CancelledError, …).
        if isinstance(exc, Exception):
            _record_error(self._span, exc)
        _end(self._span, self._token)


def tool_span(
    tool_name: str,
    *,
    session_id: str | None = None,
    request_id: str | int | None = None,
    arguments: Any = None,
) -> AbstractContextManager[trace.Span]:
    """Trace one MCP tool execution as ``tools/call {tool_name}`` (kind SERVER) and yield the span.

    ``arguments`` (any JSON-serializable value, or a string) is recorded as ``gen_ai.tool.call.arguments``
    only when given; it is truncated. An exception sets ``error.type`` to its class name and status ERROR,
    and is re-raised. Inside the ``tools/call`` span of the same tool (e.g. the mcp SDK's) the attributes
    are added to that span and no new span is started.
    """
    return _ToolSpan(tool_name, _attributes(tool_name, session_id, request_id, arguments))


def _is_mcp_context_class(cls: Any) -> bool:
    return any(
        c.__name__ == "Context" and c.__module__.startswith("mcp.") for c in getattr(cls, "__mro__", ())
    )


def _mcp_context_ids(value: Any) -> tuple[str | None, str | None]:
    """(session id, request id) of an ``mcp`` ``Context`` value; (None, None) for anything else."""
    if not _is_mcp_context_class(type(value)):
        return None, None
    session_id = request_id = None
    try:
        request_id = value.request_id
    except Exception:  # noqa: BLE001
        pass
    try:
        headers = value.headers or {}
        session_id = headers.get("mcp-session-id") or headers.get("Mcp-Session-Id")
    except Exception:  # noqa: BLE001
        pass
    return session_id, None if request_id is None else str(request_id)


def _mentions_context(annotation: Any) -> bool:
    """Whether a parameter annotation can be the mcp ``Context`` (as the mcp SDK finds the parameter)."""
    if isinstance(annotation, str):  # unresolved (``from __future__ import annotations``): be generous
        return "Context" in annotation
    if isinstance(annotation, type):
        return _is_mcp_context_class(annotation)
    import typing

    return any(_mentions_context(arg) for arg in typing.get_args(annotation))


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
Details = Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]


def _details(func: Callable[..., Any], tool: str, record_arguments: bool) -> Details | None:
    """Decided once per function: how a call's span attributes are found, or None when they never vary.

    Only a tool that takes the mcp ``Context`` (found by its annotation, as the mcp SDK finds it) or
    records its arguments pays for looking at its arguments on each call.
    """
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):
        signature = None
    if record_arguments:
        return functools.partial(_recorded_call, signature, tool)
    if signature is None:  # cannot tell where a Context would be: look at the keyword arguments
        return functools.partial(_context_call, None, -1, tool)
    for index, (name, parameter) in enumerate(signature.parameters.items()):
        if parameter.annotation is not inspect.Parameter.empty and _mentions_context(parameter.annotation):
            return functools.partial(
                _context_call, name, index if parameter.kind in _POSITIONAL else -1, tool
            )
    return None


def _context_call(
    name: str | None, index: int, tool: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict:
    if name is None:
        candidates: Any = kwargs.values()
    elif name in kwargs:
        candidates = (kwargs[name],)
    else:
        candidates = (args[index],) if 0 <= index < len(args) else ()
    for value in candidates:
        session_id, request_id = _mcp_context_ids(value)
        if session_id is not None or request_id is not None:
            return _attributes(tool, session_id, request_id, None)
    return _attributes(tool, None, None, None)


def _recorded_call(
    signature: inspect.Signature | None, tool: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict:
    values: dict[str, Any] = dict(kwargs)
    if signature is not None and args:
        try:
            values = dict(signature.bind_partial(*args, **kwargs).arguments)
        except TypeError:
            pass
    session_id = request_id = None
    for value in values.values():
        session_id, request_id = _mcp_context_ids(value)
        if session_id is not None or request_id is not None:
            break
    arguments = {
        k: v
        for k, v in values.items()
        if not type(v).__module__.startswith("mcp.") and k not in ("self", "cls")
    }
    return _attributes(tool, session_id, request_id, arguments)


@overload
def traced_tool(fn: F, /) -> F: ...
@overload
def traced_tool(*, name: str | None = None, record_arguments: bool = False) -> Callable[[F], F]: ...


def traced_tool(
    fn: F | None = None, /, *, name: str | None = None, record_arguments: bool = False
) -> F | Callable[[F], F]:
    """Decorate a sync or async MCP tool function so each call runs inside ``tool_span``.

    ``@traced_tool`` uses the function name; ``@traced_tool(name="search")`` another tool name.
    The signature, name, docstring and annotations are kept (``functools.wraps``), so it can sit under
    ``@app.tool()``. When the tool takes the mcp ``Context`` (a parameter annotated with it), its request
    id and ``mcp-session-id`` header are recorded. ``record_arguments=True`` records the call's arguments
    (truncated JSON).
    """

    def decorate(func: F) -> F:
        tool = name or func.__name__
        span_name = f"{METHOD} {tool}"
        details = _details(func, tool, record_arguments)
        fixed = _attributes(tool, None, None, None)  # shared by every call: the SDK copies it

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                span, token = _start(tool, span_name, fixed if details is None else details(args, kwargs))
                try:
                    return await func(*args, **kwargs)
                except Exception as exc:
                    _record_error(span, exc)
                    raise
                finally:
                    _end(span, token)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            span, token = _start(tool, span_name, fixed if details is None else details(args, kwargs))
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                _record_error(span, exc)
                raise
            finally:
                _end(span, token)

        return wrapper  # type: ignore[return-value]

    if fn is not None:
        return decorate(fn)
    return decorate
