"""Every private OpenTelemetry name smarter-obs relies on, in one place.

OpenTelemetry keeps these underscored, so any release may move them. Nothing else in ``smarter_obs`` touches
an underscored OpenTelemetry name: it calls the helpers here. ``PRIVATE_NAMES`` lists each module attribute
used and ``tests/tracing/test_otel_compat.py`` checks that every one still exists in the installed packages
(and that the batch processor's internals still have the shape the helpers expect). Importing this module
imports only the OpenTelemetry API; the SDK-side helpers import the SDK when called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import context as _context
from opentelemetry import trace as _trace
from opentelemetry.util._decorator import _agnosticcontextmanager

__all__ = [
    "PRIVATE_NAMES",
    "SDK_BATCH_LOGGER",
    "SUPPRESS_INSTRUMENTATION_KEY",
    "agnosticcontextmanager",
    "batch_queue",
    "batch_shut_down",
    "batch_shutdown",
    "entry_points",
    "hook_batch_drops",
    "private_names_missing",
    "reset_tracer_provider_global",
    "suppress_instrumentation",
    "update_resource",
]

#: (module, attribute) pairs of every private name used here; checked against the installed OpenTelemetry.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("opentelemetry.context", "_SUPPRESS_INSTRUMENTATION_KEY"),
    ("opentelemetry.util._decorator", "_agnosticcontextmanager"),
    ("opentelemetry.util._importlib_metadata", "entry_points"),
    ("opentelemetry.util._once", "Once"),
    ("opentelemetry.trace", "_TRACER_PROVIDER_SET_ONCE"),
    ("opentelemetry.trace", "_TRACER_PROVIDER"),
    ("opentelemetry.sdk._shared_internal", "BatchProcessor"),
    ("opentelemetry.sdk.trace", "TracerProvider._update_resource"),
)

#: Logger of the SDK's batch processor ("Queue full, dropping …", "Exception while exporting …").
SDK_BATCH_LOGGER = "opentelemetry.sdk._shared_internal"

#: The context key instrumentations check before creating spans (the SDK's batch worker sets it too).
SUPPRESS_INSTRUMENTATION_KEY = _context._SUPPRESS_INSTRUMENTATION_KEY

#: ``contextlib.contextmanager`` that also decorates async functions (the API's own tracers use it).
agnosticcontextmanager = _agnosticcontextmanager


class suppress_instrumentation:
    """Context manager: instrumented libraries (HTTP clients, drivers) create no spans inside it.

    Exporters wrap their own network calls in it, so exporting never traces itself.
    """

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _context.attach(_context.set_value(SUPPRESS_INSTRUMENTATION_KEY, True))

    def __exit__(self, *exc: object) -> None:
        _context.detach(self._token)


def entry_points(*, group: str, name: str) -> list[Any]:
    """Installed entry points of ``group`` named ``name`` (OpenTelemetry's importlib-metadata shim)."""
    from opentelemetry.util._importlib_metadata import entry_points as _entry_points

    return list(_entry_points(group=group, name=name))


def reset_tracer_provider_global() -> None:
    """Forget the set-once global tracer provider (tests only; what ``reset_trace_globals`` does)."""
    from opentelemetry.util._once import Once

    _trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    _trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


def update_resource(provider: Any, resource: Any) -> bool:
    """Merge ``resource`` into an SDK provider's resource (after fork); False if the SDK cannot."""
    update = getattr(provider, "_update_resource", None)
    if update is None:
        return False
    update(resource)
    return True


# --- the SDK's BatchSpanProcessor internals ---------------------------------------------------------------


def batch_queue(processor: Any) -> Any:
    """The deque of spans waiting in a ``BatchSpanProcessor`` (``None`` if the SDK changed shape)."""
    return getattr(getattr(processor, "_batch_processor", None), "_queue", None)


def batch_shut_down(processor: Any) -> bool:
    """True once the ``BatchSpanProcessor`` was shut down (it then drops every span it is given)."""
    return bool(getattr(getattr(processor, "_batch_processor", None), "_shutdown", False))


def batch_shutdown(processor: Any, timeout_millis: float) -> None:
    """Shut a ``BatchSpanProcessor`` down within ``timeout_millis`` (its public ``shutdown`` waits 30 s)."""
    batch = getattr(processor, "_batch_processor", None)
    if batch is None:
        processor.shutdown()
    else:
        batch.shutdown(timeout_millis=timeout_millis)


class _DropHook:
    """Stands in for the batch processor's internal metrics object: its drop callbacks also call ``on_drop``.

    The SDK calls ``drop_items(count, error_type)`` for a span refused because the queue is full
    (``"queue_full"``) or the processor is shut down (``"already_shutdown"``): counting there costs the
    application thread nothing when no span is dropped.
    """

    def __init__(self, inner: Any, on_drop: Callable[[int, str], None]) -> None:
        self._inner = inner
        self._on_drop = on_drop

    def register_queue_size(self, get_queue_size: Callable[[], int]) -> None:
        self._inner.register_queue_size(get_queue_size)

    def drop_items(self, count: int, error_type: str = "queue_full") -> None:
        self._on_drop(count, error_type)
        self._inner.drop_items(count, error_type)

    def finish_items(self, count: int) -> None:
        self._inner.finish_items(count)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def hook_batch_drops(processor: Any, on_drop: Callable[[int, str], None]) -> bool:
    """Have ``on_drop(count, reason)`` called for every span the processor's queue refuses.

    ``reason`` is ``"queue_full"`` or ``"already_shutdown"``. Returns False when this SDK version has no
    such hook (the caller then has to count in ``on_end`` itself).
    """
    batch = getattr(processor, "_batch_processor", None)
    inner = getattr(batch, "_metrics", None)
    if inner is None or not callable(getattr(inner, "drop_items", None)):
        return False
    batch._metrics = _DropHook(inner, on_drop)
    return True


def private_names_missing() -> Iterator[str]:
    """``module.attribute`` of each name in ``PRIVATE_NAMES`` the installed OpenTelemetry lacks."""
    import importlib

    for module_name, path in PRIVATE_NAMES:
        try:
            value: Any = importlib.import_module(module_name)
        except ImportError:
            yield f"{module_name} (module)"
            continue
        for part in path.split("."):
            if not hasattr(value, part):
                yield f"{module_name}.{path}"
                break
            value = getattr(value, part)
