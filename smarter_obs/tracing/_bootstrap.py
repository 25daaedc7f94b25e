"""``init_tracing`` / ``shutdown``: one idempotent, fork-aware, exit-flushing tracing pipeline per process.

- The OpenTelemetry global provider is set once, to ``_GlobalProvider``, a proxy whose delegate is swapped
  by ``init_tracing``/``shutdown`` (tracers handed out earlier follow the swap). So ``shutdown()`` followed by
  ``init_tracing()`` reconfigures cleanly and no processor is ever added twice.
- A provider installed by someone else (``opentelemetry-instrument``, a framework) is adopted, not fought.
- Fork: the child gets a new ``service.instance.id``/``process.pid``, fresh exporters and its own counters;
  multiprocessing children (which leave through ``os._exit``) flush through a multiprocessing finalizer.
- Exit: an ``atexit`` hook flushes within ``OTEL_BSP_EXPORT_TIMEOUT``.
- Nothing here raises into the service: a failure while building the pipeline is logged and leaves a
  working (non-exporting) provider.

The OpenTelemetry SDK is imported only when ``init_tracing`` runs.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.util._decorator import _agnosticcontextmanager

from smarter_obs.tracing._config import TracingConfig, resolve_config
from smarter_obs.tracing._log import logger, once
from smarter_obs.tracing._stats import TelemetryStats, combine

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from smarter_obs.tracing._exporters import CountingBatchSpanProcessor

_lock = threading.RLock()
_current: Telemetry | None = None
#: Set by ``smarter_obs.testing``: ``init_tracing`` with another config then quietly returns the capture.
_pinned = False


# --- the global proxy -----------------------------------------------------------------------------------


class _ProxyTracer(trace.Tracer):
    """A tracer that always uses the proxy's current delegate (re-fetched when it changes)."""

    def __init__(self, proxy: _GlobalProvider, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._proxy = proxy
        self._args = args
        self._kwargs = kwargs
        # (generation, tracer) replaced as one object: two threads refreshing at once around a swap must
        # not leave a new generation paired with the old provider's tracer.
        self._cached: tuple[int, trace.Tracer] = (-1, trace.NoOpTracer())

    def _real(self) -> trace.Tracer:
        generation, tracer = self._cached
        # Generation before delegate: set_delegate writes them in the opposite order.
        current, delegate = self._proxy._generation, self._proxy._delegate
        if current != generation:
            tracer = delegate.get_tracer(*self._args, **self._kwargs) if delegate else trace.NoOpTracer()
            self._cached = (current, tracer)
        return tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._real().start_span(*args, **kwargs)

    @_agnosticcontextmanager
    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Iterator[trace.Span]:
        # Resolved on entry, not when called: ``@tracer.start_as_current_span("x")`` evaluates the call once,
        # at decoration time, and must still follow a later shutdown() + init_tracing().
        with self._real().start_as_current_span(*args, **kwargs) as span:
            yield span


class _GlobalProvider(trace.TracerProvider):
    """The provider registered globally (once per process); forwards to the active SDK provider."""

    def __init__(self) -> None:
        self._delegate: Any = None
        self._generation = 0

    def set_delegate(self, delegate: Any) -> None:
        self._delegate = delegate
        self._generation += 1

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _ProxyTracer(self, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        # Code that expects an SDK provider (add_span_processor, force_flush, resource) reaches the delegate.
        delegate = self.__dict__.get("_delegate")
        if delegate is None:
            raise AttributeError(name)
        return getattr(delegate, name)


_PROXY = _GlobalProvider()


def _reinit_lock_in_child() -> None:
    # Another thread may have held the lock at fork time; it does not exist in the child.
    global _lock
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_lock_in_child)


def _global_state() -> str:
    """'ours', 'unset' or 'foreign' for the current OpenTelemetry global provider."""
    provider = trace.get_tracer_provider()
    if provider is _PROXY:
        return "ours"
    if isinstance(provider, trace.ProxyTracerProvider):
        return "unset"
    return "foreign"


# --- Telemetry ------------------------------------------------------------------------------------------


class Telemetry:
    """Handle on the tracing pipeline ``init_tracing`` configured (or adopted) in this process."""

    def __init__(
        self,
        config: TracingConfig,
        *,
        provider: Any = None,
        processors: Sequence[CountingBatchSpanProcessor] = (),
        mode: str = "sdk",
    ) -> None:
        self._config = config
        self._provider = provider
        self._processors = list(processors)
        self._mode = mode
        self._closed = False
        self._atexit: Any = None

    def __repr__(self) -> str:
        names = ",".join(p.stats.label for p in self._processors) or "none"
        return f"<Telemetry service={self.service_name!r} mode={self._mode} exporters={names}>"

    @property
    def config(self) -> TracingConfig:
        """The normalized configuration this pipeline was built from."""
        return self._config

    @property
    def service_name(self) -> str:
        return self._config.service_name

    @property
    def mode(self) -> str:
        """``sdk`` (ours), ``adopted`` (a provider installed by someone else) or ``disabled``."""
        return self._mode

    @property
    def resource(self) -> Any:
        """The provider's OpenTelemetry ``Resource`` (``None`` when disabled)."""
        return getattr(self._provider, "resource", None)

    @property
    def provider(self) -> Any:
        """The SDK ``TracerProvider`` in use (ours or the adopted one)."""
        return self._provider

    @property
    def closed(self) -> bool:
        return self._closed

    def tracer(self, name: str, version: str | None = None) -> trace.Tracer:
        """A tracer from this pipeline (a no-op tracer when disabled or shut down)."""
        if self._provider is None or self._closed:
            return trace.NoOpTracer()
        return self._provider.get_tracer(name, version)

    def stats(self) -> TelemetryStats:
        """Spans exported, dropped and still queued, per exporter and in total (this process only)."""
        return combine([p.snapshot() for p in self._processors])

    def _timeout(self, timeout: float | None) -> float:
        return self._config.batch.export_timeout_ms / 1000.0 if timeout is None else max(0.0, timeout)

    def force_flush(self, timeout: float | None = None) -> bool:
        """Export everything queued; waits at most ``timeout`` seconds (default ``OTEL_BSP_EXPORT_TIMEOUT``).

        Returns False when the time ran out or the pipeline is shut down. Never raises.
        """
        if self._closed:
            return False
        if self._provider is None:  # disabled: nothing is ever queued
            return True
        deadline = time.monotonic() + self._timeout(timeout)
        targets: list[Any] = list(self._processors) if self._mode == "sdk" else [self._provider]
        ok = True
        for target in targets:
            # An adopted provider may be API-only (no force_flush): then there is nothing to flush.
            flush = getattr(target, "force_flush", None)
            if flush is not None:
                ok = _run_bounded(flush, deadline - time.monotonic()) and ok
        return ok

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush and stop this pipeline within ``timeout`` seconds; then ``init_tracing`` may configure anew.

        An adopted provider is flushed but not shut down (it belongs to whoever installed it).
        """
        with _lock:
            if self._closed:
                return True
            self._closed = True
            if self._atexit is not None:
                atexit.unregister(self._atexit)
                self._atexit = None
            global _current
            if _current is self:
                _current = None
                _PROXY.set_delegate(None)
        if self._mode == "adopted":
            return _run_bounded(getattr(self._provider, "force_flush", lambda: True), self._timeout(timeout))
        deadline = time.monotonic() + self._timeout(timeout)
        for processor in self._processors:
            try:
                processor.shutdown(timeout_millis=max(0.0, deadline - time.monotonic()) * 1000)
            except Exception as exc:  # noqa: BLE001
                once(logging.WARNING, "shutting down %s failed: %s", processor.stats.label, exc)
        try:
            if self._provider is not None:
                self._provider.shutdown()
        except Exception as exc:  # noqa: BLE001
            once(logging.WARNING, "shutting down the tracer provider failed: %s", exc)
        return time.monotonic() <= deadline

    # -- process lifecycle --

    def _flush_at_exit(self) -> None:
        try:
            self.shutdown()
        except Exception:  # nothing may escape an exit hook  # noqa: BLE001
            pass

    def _after_fork_in_child(self) -> None:
        if self._closed or self._mode != "sdk":
            return
        from opentelemetry.sdk.resources import Resource

        from smarter_obs.tracing._resource import instance_id, process_attributes

        attrs = process_attributes()
        attrs["service.instance.id"] = instance_id(self._config)
        update = getattr(self._provider, "_update_resource", None)
        if update is not None:
            update(Resource(attrs))
        for processor in self._processors:
            processor.stats.reset()
            processor.counting_exporter.after_fork_in_child()


def _run_bounded(fn: Any, timeout: float) -> bool:
    """Run ``fn()`` in a helper thread and wait at most ``timeout`` seconds for it."""
    result: list[bool] = []

    def target() -> None:
        try:
            result.append(fn() is not False)
        except Exception:  # noqa: BLE001
            result.append(False)

    worker = threading.Thread(target=target, name="smarter-obs-flush", daemon=True)
    worker.start()
    worker.join(max(0.0, timeout))
    return bool(result and result[0])


# --- multiprocessing children ---------------------------------------------------------------------------


class _Token:
    """Weak-referenceable key for multiprocessing's after-fork registry."""


_MP_TOKEN = _Token()
_mp_registered = False


def _flush_current_for_child_exit() -> None:
    current = _current
    if current is not None:
        current._flush_at_exit()


def _child_started(_token: object) -> None:
    import multiprocessing.util as mp_util

    mp_util.Finalize(None, _flush_current_for_child_exit, exitpriority=100)


def _register_multiprocessing_flush() -> None:
    """Flush in multiprocessing children, which exit through ``os._exit`` and so skip ``atexit``."""
    global _mp_registered
    if _mp_registered:
        return
    import multiprocessing.util as mp_util

    # Runs inside multiprocessing's child bootstrap, after it cleared the finalizers inherited from us.
    mp_util.register_after_fork(_MP_TOKEN, _child_started)
    _mp_registered = True


# --- building -------------------------------------------------------------------------------------------


def _sampler(config: TracingConfig) -> Any:
    from opentelemetry.sdk.trace import sampling

    ratio = 1.0 if config.sampler_arg is None else config.sampler_arg
    return {
        "always_on": lambda: sampling.ALWAYS_ON,
        "always_off": lambda: sampling.ALWAYS_OFF,
        "traceidratio": lambda: sampling.TraceIdRatioBased(ratio),
        "parentbased_always_on": lambda: sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": lambda: sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": lambda: sampling.ParentBased(sampling.TraceIdRatioBased(ratio)),
    }[config.sampler]()


def _apply_propagators(names: tuple[str, ...] | None) -> None:
    if names is None:
        return
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.util._importlib_metadata import entry_points

    propagators, usable = [], []
    for name in names:
        if name == "none":
            continue
        found = list(entry_points(group="opentelemetry_propagator", name=name))
        if not found:
            once(
                logging.WARNING,
                "OTEL_PROPAGATORS: propagator %r is not installed (e.g. b3 needs "
                "opentelemetry-propagator-b3); it is skipped",
                name,
            )
            continue
        try:
            propagators.append(found[0].load()())
            usable.append(name)
        except Exception as exc:  # noqa: BLE001
            once(
                logging.WARNING,
                "OTEL_PROPAGATORS: propagator %r failed to load (%s); it is skipped",
                name,
                exc,
            )
    _import_propagate_safely(usable)
    from opentelemetry import propagate

    propagate.set_global_textmap(CompositePropagator(propagators))


def _import_propagate_safely(usable: list[str]) -> None:
    """Import ``opentelemetry.propagate``, which raises at import time on an unknown OTEL_PROPAGATORS name."""
    if "opentelemetry.propagate" in sys.modules:
        return
    saved = os.environ.get("OTEL_PROPAGATORS")
    os.environ["OTEL_PROPAGATORS"] = ",".join(usable) or "none"
    try:
        import opentelemetry.propagate  # noqa: F401
    finally:
        if saved is None:
            os.environ.pop("OTEL_PROPAGATORS", None)
        else:
            os.environ["OTEL_PROPAGATORS"] = saved


def _build(config: TracingConfig) -> Telemetry:
    from opentelemetry.sdk.trace import TracerProvider

    from smarter_obs.tracing._exporters import (
        CountingBatchSpanProcessor,
        CountingExporter,
        ExporterUnavailable,
        install_quiet_filter,
    )
    from smarter_obs.tracing._resource import build_resource
    from smarter_obs.tracing._stats import DeliveryStats

    provider = TracerProvider(
        sampler=_sampler(config),
        resource=build_resource(config),
        shutdown_on_exit=False,  # our own atexit hook flushes with a bounded timeout
    )
    install_quiet_filter()
    processors = []
    for spec in config.exporters:
        label = spec.describe()
        try:
            exporter = CountingExporter(spec, DeliveryStats(label))
        except ExporterUnavailable as exc:
            once(logging.WARNING, "trace exporter %s is unavailable and skipped: %s", label, exc)
            continue
        processor = CountingBatchSpanProcessor(exporter, config.batch)
        provider.add_span_processor(processor)
        processors.append(processor)
    telemetry = Telemetry(config, provider=provider, processors=processors)
    if not config.exporters:
        once(
            logging.INFO,
            "tracing for %s exports nowhere (no exporter configured: set OTEL_EXPORTER_OTLP_ENDPOINT or "
            "OTEL_TRACES_EXPORTER, or pass exporter=/endpoint=); spans are still created and context "
            "propagates",
            config.service_name,
        )
    elif processors:
        logger.info(
            "tracing for %s exports to %s", config.service_name, ", ".join(p.stats.label for p in processors)
        )
    return telemetry


def _install_hooks(telemetry: Telemetry) -> None:
    telemetry._atexit = atexit.register(telemetry._flush_at_exit)
    if hasattr(os, "register_at_fork"):
        # Registered after the provider's own hook, so our service.instance.id is the one that stays.
        weak = weakref.WeakMethod(telemetry._after_fork_in_child)

        def after_in_child() -> None:
            method = weak()
            if method is not None:
                try:
                    method()
                except Exception as exc:  # noqa: BLE001
                    once(logging.WARNING, "refreshing tracing after fork failed: %s", exc)

        os.register_at_fork(after_in_child=after_in_child)
    _register_multiprocessing_flush()


def init_tracing(
    service_name: str | None = None,
    *,
    service_version: str | None = None,
    environment: str | None = None,
    exporter: str | SpanExporter | Sequence[str | SpanExporter] | None = None,
    endpoint: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    sample_ratio: float | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
) -> Telemetry:
    """Configure tracing for this process once and return its ``Telemetry`` handle.

    Explicit arguments win over ``OTEL_*`` variables, which win over defaults (see docs/tracing.md). With
    nothing configured spans are created and propagated but exported nowhere. Calling again with the same
    configuration returns the same handle; with a different one it logs a warning and changes nothing
    (call ``smarter_obs.shutdown()`` first). Never raises because of telemetry: bad settings are logged and
    replaced by their documented fallback.
    """
    config = resolve_config(
        service_name,
        service_version=service_version,
        environment=environment,
        exporter=exporter,
        endpoint=endpoint,
        headers=headers,
        sample_ratio=sample_ratio,
        resource_attributes=resource_attributes,
    )
    global _current
    with _lock:
        current = _current
        if current is not None and not current.closed:
            if current.config != config:
                level = logging.DEBUG if _pinned else logging.WARNING
                once(
                    level,
                    "init_tracing was called again with a different configuration (%s differ); keeping the "
                    "first one. Call smarter_obs.shutdown() before init_tracing() to reconfigure.",
                    ", ".join(current.config.differences(config)),
                )
            return current
        if config.disabled:
            once(logging.INFO, "tracing disabled by OTEL_SDK_DISABLED=true; no spans are recorded")
            _current = Telemetry(config, mode="disabled")
            return _current
        state = _global_state()
        if state == "foreign":
            provider = trace.get_tracer_provider()
            once(
                logging.INFO,
                "a %s.%s is already installed as the global tracer provider (e.g. by "
                "opentelemetry-instrument); smarter_obs adopts it: its exporters, sampler and resource are "
                "used and init_tracing adds nothing to it",
                type(provider).__module__,
                type(provider).__qualname__,
            )
            _PROXY.set_delegate(provider)
            _current = Telemetry(config, provider=provider, mode="adopted")
            return _current
        try:
            _apply_propagators(config.propagators)
            telemetry = _build(config)
        except Exception as exc:  # never take the service down for telemetry  # noqa: BLE001
            logger.warning(
                "tracing setup failed (%s: %s); spans will not be exported", type(exc).__name__, exc
            )
            from opentelemetry.sdk.trace import TracerProvider

            telemetry = Telemetry(config, provider=TracerProvider(shutdown_on_exit=False))
        _install_hooks(telemetry)
        _PROXY.set_delegate(telemetry.provider)
        if state == "unset":
            trace.set_tracer_provider(_PROXY)
        _current = telemetry
        return telemetry


def current() -> Telemetry | None:
    """The active ``Telemetry`` of this process, if ``init_tracing`` ran and it was not shut down."""
    return _current


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop the active pipeline (if any); afterwards ``init_tracing`` configures anew."""
    telemetry = _current
    if telemetry is None:
        return True
    return telemetry.shutdown(timeout)


@contextmanager
def _pin() -> Iterator[None]:
    """While active, re-configuration attempts are answered quietly with the current handle."""
    global _pinned
    previous, _pinned = _pinned, True
    try:
        yield
    finally:
        _pinned = previous


def _reset_globals() -> None:
    """Shut down and forget everything, including OpenTelemetry's set-once global (tests only)."""
    shutdown(timeout=5.0)
    from opentelemetry.util._once import Once

    from smarter_obs.tracing._log import forget

    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    _PROXY.set_delegate(None)
    forget()
