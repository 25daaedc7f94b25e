"""Test helpers for services that call ``init_tracing`` (registered as the pytest plugin ``smarter_obs``).

The ``capture_spans`` fixture runs the real ``init_tracing`` pipeline with an in-memory exporter and yields a
``CapturedSpans``. Its ``as_dicts()`` output is deterministic: trace and span ids become 1, 2, … in order of
appearance (a parent outside the capture is ``"external"``), timestamps are dropped (order is kept), exception
stack traces are removed. While the fixture is
active, ``init_tracing`` calls from the code under test return the capturing handle (quietly, even with
another configuration). Importing this module is cheap; OpenTelemetry loads when the fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from smarter_obs.tracing import Telemetry

__all__ = ["CapturedSpans", "capture", "capture_spans", "reset_tracing"]

#: Span event attributes that differ from run to run.
_VOLATILE_EVENT_ATTRIBUTES = frozenset({"exception.stacktrace"})


def reset_tracing() -> None:
    """Shut down tracing and reset OpenTelemetry's set-once global provider (tests only)."""
    from smarter_obs.tracing._bootstrap import _reset_globals

    _reset_globals()


class CapturedSpans:
    """Spans finished while capturing, read after a flush."""

    def __init__(self, exporter: InMemorySpanExporter, telemetry: Telemetry) -> None:
        self.exporter = exporter
        self.telemetry = telemetry

    def spans(self) -> list[ReadableSpan]:
        """Finished spans in the order they ended."""
        self.telemetry.force_flush(timeout=5.0)
        return list(self.exporter.get_finished_spans())

    def clear(self) -> None:
        self.telemetry.force_flush(timeout=5.0)
        self.exporter.clear()

    def names(self) -> list[str]:
        return [span.name for span in self.spans()]

    def as_dicts(self, *, resource: bool = False) -> list[dict[str, Any]]:
        """Deterministic dicts (see module docstring), one per span, in end order."""
        spans = self.spans()
        trace_ids: dict[int, int] = {}
        span_ids: dict[int, int] = {}

        def trace_no(value: int) -> int:
            return trace_ids.setdefault(value, len(trace_ids) + 1)

        def span_no(value: int) -> int:
            return span_ids.setdefault(value, len(span_ids) + 1)

        for span in sorted(spans, key=lambda s: s.start_time or 0):
            span_no(span.context.span_id)
        result = []
        for span in spans:
            item: dict[str, Any] = {
                "name": span.name,
                "kind": span.kind.name,
                "trace": trace_no(span.context.trace_id),
                "span": span_no(span.context.span_id),
                # A parent outside the capture (e.g. an incoming traceparent) shows as "external".
                "parent": span_ids.get(span.parent.span_id, "external") if span.parent else None,
                "status": span.status.status_code.name,
                "attributes": dict(sorted((span.attributes or {}).items())),
            }
            if span.events:
                item["events"] = [
                    {
                        "name": event.name,
                        "attributes": {
                            k: v
                            for k, v in sorted((event.attributes or {}).items())
                            if k not in _VOLATILE_EVENT_ATTRIBUTES
                        },
                    }
                    for event in span.events
                ]
            if resource:
                item["resource"] = dict(sorted(span.resource.attributes.items()))
            result.append(item)
        return result


@contextmanager
def capture(service_name: str = "test-service", **init_kwargs: Any) -> Iterator[CapturedSpans]:
    """Reset tracing, run ``init_tracing`` with an in-memory exporter, yield ``CapturedSpans``, reset."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from smarter_obs.tracing import init_tracing
    from smarter_obs.tracing._bootstrap import _pin

    reset_tracing()
    exporter = InMemorySpanExporter()
    init_kwargs.setdefault("sample_ratio", 1.0)
    telemetry = init_tracing(service_name, exporter=exporter, **init_kwargs)
    try:
        with _pin():
            yield CapturedSpans(exporter, telemetry)
    finally:
        reset_tracing()


@pytest.fixture
def capture_spans() -> Iterator[CapturedSpans]:
    """Capture every span the test produces through the real ``init_tracing`` pipeline."""
    with capture() as captured:
        yield captured
