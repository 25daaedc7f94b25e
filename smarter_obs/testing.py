"""Test helpers for services that call ``init_tracing`` (registered as the pytest plugin ``smarter_obs``).

``capture_spans()`` runs the real ``init_tracing`` pipeline with an in-memory exporter and gives a
``CapturedSpans``, both ways: as a context manager anywhere (``with capture_spans() as spans:``) and, under
pytest, as the fixture of the same name (``def test_x(capture_spans): ...``). Its ``as_dicts()`` output is
deterministic: trace and span ids become 1, 2, … in order of appearance (a parent outside the capture is
``"external"``), timestamps are dropped (order is kept), exception stack traces are removed. While capturing,
``init_tracing`` calls from the code under test return the capturing handle (quietly, even with another
configuration). Importing this module is cheap; OpenTelemetry loads when a capture starts, and pytest is
only needed for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

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
def capture_spans(service_name: str = "test-service", **init_kwargs: Any) -> Iterator[CapturedSpans]:
    """Capture every span finished inside the block through the real ``init_tracing`` pipeline.

    Resets tracing, runs ``init_tracing(service_name, **init_kwargs)`` with an in-memory exporter (and
    ``sample_ratio=1.0`` unless given), yields the ``CapturedSpans`` and resets tracing again on the way
    out. Under pytest, the fixture of the same name does this around one test.
    """
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


#: The earlier name of ``capture_spans`` as a context manager.
capture = capture_spans


try:
    import pytest
except ImportError:  # the context manager works without pytest
    pass
else:
    # pytest only looks for fixtures among objects it made: the fixture is a separate object that pytest
    # registers under the public name, so ``capture_spans`` itself stays an ordinary context manager.
    @pytest.fixture(name="capture_spans")
    def _capture_spans_fixture() -> Iterator[CapturedSpans]:
        """Capture every span the test produces through the real ``init_tracing`` pipeline."""
        with capture_spans() as captured:
            yield captured
