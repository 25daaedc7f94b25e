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
import weakref
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from smarter_obs.tracing._config import BatchSettings, ExporterSpec
from smarter_obs.tracing._log import once
from smarter_obs.tracing._otel_compat import (
    SDK_BATCH_LOGGER,
    batch_queue,
    batch_shut_down,
    batch_shutdown,
    hook_batch_drops,
)
from smarter_obs.tracing._quiet import QuietLogs
from smarter_obs.tracing._stats import DeliveryStats, ExporterStats

#: Loggers of the SDK's export path whose WARNING/ERROR lines we replace with our throttled report.
QUIETED_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    SDK_BATCH_LOGGER,
    "opentelemetry.sdk.trace.export",
    "smarter_obs.exporters.clickhouse",
)

#: Export-path logs on the exporting thread, kept back while ``CountingExporter`` exports.
EXPORT_PATH = QuietLogs(QUIETED_LOGGERS)
#: The SDK's own line for a span refused by a full queue (logged on the application thread).
_QUEUE_FULL = "Queue full, dropping %s."
_processors: weakref.WeakSet[CountingBatchSpanProcessor] = weakref.WeakSet()


class _QueueFullFilter(logging.Filter):
    """Drop the SDK's per-span "Queue full" line when one of our queues is full: we count and report it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != _QUEUE_FULL:
            return True
        return not any(p.queue_full() for p in list(_processors))


_filters_installed = False
_filters_lock = threading.Lock()


def install_quiet_filter() -> None:
    global _filters_installed
    with _filters_lock:
        if _filters_installed:
            return
        EXPORT_PATH.install()
        logging.getLogger(SDK_BATCH_LOGGER).addFilter(_QueueFullFilter())
        _filters_installed = True


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
        with EXPORT_PATH.quiet() as quiet:
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
        with EXPORT_PATH.quiet():
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
    """``BatchSpanProcessor`` that counts queue-full drops and spans left behind at shutdown.

    Ending a span costs exactly what it costs the SDK's own processor (its ``on_end`` is not overridden):
    refused spans are counted through the SDK's drop callback (see ``_otel_compat.hook_batch_drops``).
    """

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
        if not hook_batch_drops(self, self._dropped):
            self.on_end = self._counting_on_end  # type: ignore[method-assign]
        _processors.add(self)

    def _dropped(self, count: int, reason: str) -> None:
        if reason == "already_shutdown":
            self.stats.dropped_at_shutdown(count)
        else:
            self.stats.queue_full(count)

    def _counting_on_end(self, span: ReadableSpan) -> None:
        """Counting in ``on_end`` itself, for an SDK without the drop callback."""
        if not (span.context and span.context.trace_flags.sampled):
            return
        if batch_shut_down(self):
            self.stats.dropped_at_shutdown(1)
            return
        if self.queue_full():
            self.stats.queue_full(1)
        super().on_end(span)

    def queued(self) -> int:
        queue = batch_queue(self)
        return len(queue) if queue is not None else 0

    def queue_full(self) -> bool:
        return self.queued() >= self._max_queue

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        # The SDK's processor exports its queue but never asks the exporter to flush; exporters that
        # join batches (ClickHouse) would keep the last full batch back for up to their linger time.
        timeout = self._default_timeout_ms if timeout_millis is None else max(0, int(timeout_millis))
        deadline = time.monotonic() + timeout / 1000
        flushed = super().force_flush(timeout_millis=timeout)
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        return self.counting_exporter.force_flush(remaining) and bool(flushed)

    def shutdown(self, timeout_millis: float | None = None) -> None:  # type: ignore[override]
        timeout = self._default_timeout_ms if timeout_millis is None else max(0.0, timeout_millis)
        batch_shutdown(self, timeout_millis=timeout)
        queue = batch_queue(self)
        if queue:
            left = len(queue)
            queue.clear()
            self.stats.dropped_at_shutdown(left)

    def snapshot(self) -> ExporterStats:
        return self.stats.snapshot(self.queued())
