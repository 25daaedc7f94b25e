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
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

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


_tracer: tuple[trace.TracerProvider, trace.Tracer] | None = None


def _get_tracer() -> trace.Tracer:
    """The helpers' tracer, cached per global provider (asking the SDK for a tracer on every tool call
    costs more than the span itself). smarter-obs's own global proxy hands out tracers that follow
    ``init_tracing``/``shutdown``; the API's placeholder provider (nothing global yet) is never cached, as
    its tracers stay bound to the first provider set and tests reset the global."""
    global _tracer
    provider = trace.get_tracer_provider()
    cached = _tracer
    if cached is not None and cached[0] is provider:
        return cached[1]
    from smarter_obs import __version__

    tracer = provider.get_tracer("smarter_obs.mcp", __version__)
    if not isinstance(provider, trace.ProxyTracerProvider):
        _tracer = (provider, tracer)
    return tracer


def format_arguments(arguments: Any) -> str:
    """JSON text of ``arguments`` (sorted keys), cut to ``MAX_ARGUMENTS_CHARS``."""
    if isinstance(arguments, str):
        text = arguments
    else:
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


@contextmanager
def tool_span(
    tool_name: str,
    *,
    session_id: str | None = None,
    request_id: str | int | None = None,
    arguments: Any = None,
) -> Iterator[trace.Span]:
    """Trace one MCP tool execution as ``tools/call {tool_name}`` (kind SERVER) and yield the span.

    ``arguments`` (any JSON-serializable value, or a string) is recorded as ``gen_ai.tool.call.arguments``
    only when given; it is truncated. An exception sets ``error.type`` to its class name and status ERROR,
    and is re-raised. Inside the ``tools/call`` span of the same tool (e.g. the mcp SDK's) the attributes
    are added to that span and no new span is started.
    """
    current = trace.get_current_span()
    attrs = _attributes(tool_name, session_id, request_id, arguments)
    if _is_tool_call_span(current, tool_name):
        existing = getattr(current, "attributes", None) or {}
        # The SDK's own values (e.g. its jsonrpc.request.id) stay authoritative.
        current.set_attributes({k: v for k, v in attrs.items() if k not in existing})
        try:
            yield current
        except Exception as exc:
            _record_error(current, exc)
            raise
        return
    with _get_tracer().start_as_current_span(
        f"{METHOD} {tool_name}",
        kind=SpanKind.SERVER,
        attributes=attrs,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            _record_error(span, exc)
            raise


def _mcp_context_ids(values: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(session id, request id) from an ``mcp`` ``Context`` argument, when the tool takes one."""
    for value in values.values():
        cls = type(value)
        if cls.__name__ != "Context" or not cls.__module__.startswith("mcp."):
            continue
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
    return None, None


def _call_details(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any], record: bool
) -> tuple[str | None, str | None, Any]:
    values: dict[str, Any] = dict(kwargs)
    if signature is not None and args:
        try:
            values = dict(signature.bind_partial(*args, **kwargs).arguments)
        except TypeError:
            pass
    session_id, request_id = _mcp_context_ids(values)
    arguments = None
    if record:
        arguments = {
            k: v
            for k, v in values.items()
            if not type(v).__module__.startswith("mcp.") and k not in ("self", "cls")
        }
    return session_id, request_id, arguments


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
    ``@app.tool()``. When the tool takes the mcp ``Context``, its request id and ``mcp-session-id`` header
    are recorded. ``record_arguments=True`` records the call's arguments (truncated JSON).
    """

    def decorate(func: F) -> F:
        tool = name or func.__name__
        try:
            signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            signature = None

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                session_id, request_id, arguments = _call_details(signature, args, kwargs, record_arguments)
                with tool_span(tool, session_id=session_id, request_id=request_id, arguments=arguments):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            session_id, request_id, arguments = _call_details(signature, args, kwargs, record_arguments)
            with tool_span(tool, session_id=session_id, request_id=request_id, arguments=arguments):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    if fn is not None:
        return decorate(fn)
    return decorate
