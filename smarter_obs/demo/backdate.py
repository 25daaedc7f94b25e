"""Moving whole traces into the past, so a few minutes of traffic become days of history.

The demo's spans are real: made by the ``mcp`` SDK and ``smarter_obs`` while real tools really wait, exported
by the standard OTLP exporter to the spans receiver. Only *when* each conversation happened is simulated:
the traffic driver anchors every trace at a virtual start time (a business hour some days ago) and
:class:`BackdatingExporter`, wrapped around the OTLP exporter, translates every span of that trace by the
same offset before export. Durations, parent/child nesting, ordering within a trace, status and attributes
are untouched; nothing else about the span changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["BackdatingExporter"]


class BackdatingExporter(SpanExporter):
    """Translates the spans of registered traces by their offset, then hands them to ``inner``."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self._offsets: dict[int, int] = {}  # trace id → nanoseconds to add
        self._lock = threading.Lock()

    def anchor(self, trace_id: int, virtual_start_ns: int, real_start_ns: int) -> None:
        """Spans of ``trace_id`` are moved so that ``real_start_ns`` becomes ``virtual_start_ns``."""
        with self._lock:
            self._offsets[trace_id] = virtual_start_ns - real_start_ns

    def virtual_now(self) -> float:
        """Virtual epoch seconds for the current trace (the real time when it has no anchor)."""
        trace_id = trace.get_current_span().get_span_context().trace_id
        return (time.time_ns() + self._offsets.get(trace_id, 0)) / 1e9

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            offsets = dict(self._offsets)
        return self.inner.export([_shifted(span, offsets.get(span.context.trace_id, 0)) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _shifted(span: ReadableSpan, offset: int) -> ReadableSpan:
    if not offset:
        return span

    def move(ns: int | None) -> int | None:
        return None if ns is None else ns + offset

    events: list[Any] = [Event(e.name, e.attributes, timestamp=move(e.timestamp)) for e in span.events]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=move(span.start_time),
        end_time=move(span.end_time),
        instrumentation_scope=span.instrumentation_scope,
    )
