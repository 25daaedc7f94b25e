"""Exporter registry (name -> factory) and the counting, quiet, fork-aware batch pipeline around exporters.

Each exporter gets its own bounded ``BatchSpanProcessor``: the application thread only appends to a deque
(drops are counted when it is full), the worker thread exports. The exporter is wrapped so that

- failures (a ``FAILURE`` result or any exception) are counted as dropped spans and never propagate;
- the SDK's own per-retry log lines are swallowed while our wrapper exports, and replaced by one throttled
  report (``DeliveryStats``) that carries the reason and the dropped count;
- after ``fork`` the child builds a fresh exporter (pooled HTTP connections and gRPC channels must not be
  shared with the parent).

Only imported by ``init_tracing``: this module imports the OpenTelemetry SDK.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from smarter_obs.tracing._config import BatchSettings, ExporterSpec
from smarter_obs.tracing._log import once
from smarter_obs.tracing._stats import DeliveryStats, ExporterStats

#: Loggers of the SDK's export path whose WARNING/ERROR lines we replace with our throttled report.
QUIETED_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "smarter_obs.exporters.clickhouse",
)

_quiet = threading.local()


class _QuietFilter(logging.Filter):
    """Swallow export-path warnings raised while our wrapper is active on this thread; keep the last one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_quiet, "active", False) or record.levelno < logging.WARNING:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record must not break export  # noqa: BLE001
            message = str(record.msg)
        messages = getattr(_quiet, "messages", None)
        if messages is not None and len(messages) < 20:
            messages.append(message)
        return False


_filter_installed = False
_filter_lock = threading.Lock()


def install_quiet_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if _filter_installed:
            return
        quiet = _QuietFilter()
        for name in QUIETED_LOGGERS:
            logging.getLogger(name).addFilter(quiet)
        _filter_installed = True


class _Quiet:
    """Context manager: SDK export-path logs on this thread are captured instead of emitted."""

    def __enter__(self) -> _Quiet:
        self._previous = getattr(_quiet, "active", False), getattr(_quiet, "messages", None)
        _quiet.active = True
        _quiet.messages = self.messages = []
        return self

    def __exit__(self, *exc: object) -> None:
        _quiet.active, _quiet.messages = self._previous

    @property
    def reason(self) -> str | None:
        """The first swallowed message (usually the cause) and the last one (the outcome)."""
        if not self.messages:
            return None
        first, last = self.messages[0][:300], self.messages[-1][:300]
        return first if first == last else f"{first} … {last}"


# --- registry -------------------------------------------------------------------------------------------


class ExporterUnavailable(Exception):
    """An exporter could not be built; the message says why and what to install or set."""


def _console(spec: ExporterSpec) -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter()


def _otlp(spec: ExporterSpec) -> SpanExporter:
    headers = dict(spec.headers) or None
    if spec.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError as exc:
            raise ExporterUnavailable(
                f"OTLP/gRPC needs opentelemetry-exporter-otlp-proto-grpc ({exc}); "
                "install 'smarter-obs[grpc]' or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
            ) from exc
        insecure = spec.endpoint.startswith("http://") if spec.endpoint else None
        return GrpcExporter(endpoint=spec.endpoint, insecure=insecure, headers=headers, timeout=spec.timeout)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=spec.endpoint, headers=headers, timeout=spec.timeout)


def _clickhouse(spec: ExporterSpec) -> SpanExporter:
    try:
        from smarter_obs.exporters.clickhouse import ClickHouseSpanExporter
    except ImportError as exc:
        raise ExporterUnavailable(
            f"the clickhouse exporter could not be imported ({exc}); install 'smarter-obs[clickhouse]'"
        ) from exc
    return ClickHouseSpanExporter(spec.endpoint)


REGISTRY: dict[str, Callable[[ExporterSpec], SpanExporter]] = {
    "otlp": _otlp,
    "console": _console,
    "clickhouse": _clickhouse,
}


def build_exporter(spec: ExporterSpec) -> SpanExporter:
    """A new exporter for ``spec``; raises ``ExporterUnavailable`` with a message naming the fix."""
    if spec.instance is not None:
        if not callable(getattr(spec.instance, "export", None)):
            raise ExporterUnavailable(f"{spec.instance!r} is not a SpanExporter (it has no export method)")
        return spec.instance
    factory = REGISTRY[spec.name]
    try:
        return factory(spec)
    except ExporterUnavailable:
        raise
    except Exception as exc:
        raise ExporterUnavailable(f"{type(exc).__name__}: {exc}") from exc


# --- pipeline -------------------------------------------------------------------------------------------


class CountingExporter(SpanExporter):
    """Wraps one exporter: counts results, swallows exceptions, rebuilds itself after fork."""

    def __init__(self, spec: ExporterSpec, stats: DeliveryStats) -> None:
        self.spec = spec
        self.stats = stats
        self._inner = build_exporter(spec)
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()

    def _parents_copy(self) -> bool:
        """In a forked child that has not exported yet, the wrapped exporter (its held spans, its
        connections) is the parent's: flushing or shutting it down would write the parent's spans again."""
        return self._pid != os.getpid() and self.spec.instance is None

    def _exporter(self) -> SpanExporter:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    # A caller-provided object cannot be rebuilt; registry exporters can and must be.
                    if self.spec.instance is None:
                        self._inner = build_exporter(self.spec)
                    self._pid = os.getpid()
        return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        count = len(spans)
        reason: str | None = None
        with _Quiet() as quiet:
            try:
                result = self._exporter().export(spans)
            except Exception as exc:  # noqa: BLE001
                result = SpanExportResult.FAILURE
                reason = f"{type(exc).__name__}: {exc}"
            captured = quiet.reason
        if result is SpanExportResult.SUCCESS:
            self.stats.exported_ok(count)
        else:
            self.stats.export_failed(count, reason or captured or "the exporter reported FAILURE")
        return result

    def shutdown(self, timeout_millis: float = 30000) -> None:
        if self._parents_copy():
            return
        inner = self._inner
        with _Quiet():
            try:
                if "timeout_millis" in inspect.signature(inner.shutdown).parameters:
                    inner.shutdown(timeout_millis=timeout_millis)  # type: ignore[call-arg]
                else:
                    inner.shutdown()
            except Exception as exc:  # noqa: BLE001
                once(logging.WARNING, "shutting down exporter %s failed: %s", self.stats.label, exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        if self._parents_copy():
            return True  # this process has exported nothing, so nothing of it is held
        try:
            return bool(self._exporter().force_flush(timeout_millis))
        except Exception:  # noqa: BLE001
            return False


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """``BatchSpanProcessor`` that counts queue-full drops and spans left behind at shutdown."""

    def __init__(self, exporter: CountingExporter, batch: BatchSettings) -> None:
        super().__init__(
            exporter,
            max_queue_size=batch.max_queue_size,
            schedule_delay_millis=batch.schedule_delay_ms,
            max_export_batch_size=batch.max_export_batch_size,
            export_timeout_millis=batch.export_timeout_ms,
        )
        self.counting_exporter = exporter
        self.stats = exporter.stats
        self._max_queue = batch.max_queue_size
        self._default_timeout_ms = batch.export_timeout_ms

    def _queue(self) -> Any:
        return getattr(self._batch_processor, "_queue", None)

    def queued(self) -> int:
        queue = self._queue()
        return len(queue) if queue is not None else 0

    def on_end(self, span: ReadableSpan) -> None:
        if not (span.context and span.context.trace_flags.sampled):
            return
        if getattr(self._batch_processor, "_shutdown", False):
            self.stats.dropped_at_shutdown(1)
            return
        queue = self._queue()
        if queue is not None and len(queue) >= self._max_queue:
            self.stats.queue_full(1)
            with _Quiet():
                self._batch_processor.emit(span)
            return
        self._batch_processor.emit(span)

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        # The SDK's processor exports its queue but never asks the exporter to flush; exporters that
        # join batches (ClickHouse) would keep the last full batch back for up to their linger time.
        timeout = self._default_timeout_ms if timeout_millis is None else max(0, int(timeout_millis))
        deadline = time.monotonic() + timeout / 1000
        flushed = self._batch_processor.force_flush(timeout_millis=timeout)
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        return self.counting_exporter.force_flush(remaining) and bool(flushed)

    def shutdown(self, timeout_millis: float | None = None) -> None:  # type: ignore[override]
        timeout = self._default_timeout_ms if timeout_millis is None else max(0.0, timeout_millis)
        self._batch_processor.shutdown(timeout_millis=timeout)
        queue = self._queue()
        if queue:
            left = len(queue)
            queue.clear()
            self.stats.dropped_at_shutdown(left)

    def snapshot(self) -> ExporterStats:
        return self.stats.snapshot(self.queued())
