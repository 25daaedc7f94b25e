"""The private OpenTelemetry names smarter-obs relies on live in one module and still exist upstream."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import smarter_obs
from smarter_obs.tracing import _otel_compat

PACKAGE = Path(smarter_obs.__file__).parent
# An underscored name reached through an OpenTelemetry module or a processor's private attribute.
PRIVATE_USE = re.compile(
    r"opentelemetry(?:\.\w+)*\._\w+|\b(?:otel_context|context|trace)\._[A-Za-z]\w*|_batch_processor|"
    r"_SUPPRESS_INSTRUMENTATION_KEY|_update_resource|_agnosticcontextmanager"
)


def test_every_private_name_the_compat_module_uses_exists_in_the_installed_opentelemetry() -> None:
    assert list(_otel_compat.private_names_missing()) == []


def test_no_other_module_touches_a_private_opentelemetry_name() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_otel_compat.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PRIVATE_USE.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


class _BlockingExporter(SpanExporter):
    """Holds the batch worker inside ``export`` until released, so the queue can be filled."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def export(self, spans: object) -> SpanExportResult:
        self.entered.set()
        self.release.wait(10)
        return SpanExportResult.SUCCESS


def test_the_batch_processor_still_has_the_internals_the_helpers_use() -> None:
    exporter = _BlockingExporter()
    processor = BatchSpanProcessor(exporter, max_queue_size=2, max_export_batch_size=2)
    drops: list[tuple[int, str]] = []
    assert _otel_compat.hook_batch_drops(processor, lambda count, reason: drops.append((count, reason)))
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for _ in range(2):
        tracer.start_span("exported").end()
    assert exporter.entered.wait(10)  # the worker took both and is stuck exporting them
    for _ in range(3):
        tracer.start_span("queued").end()
    assert len(_otel_compat.batch_queue(processor)) == 2
    assert drops == [(1, "queue_full")]
    assert not _otel_compat.batch_shut_down(processor)
    exporter.release.set()
    _otel_compat.batch_shutdown(processor, timeout_millis=5000)
    assert _otel_compat.batch_shut_down(processor)
    tracer.start_span("late").end()
    assert drops == [(1, "queue_full"), (1, "already_shutdown")]


def test_suppress_instrumentation_sets_the_key_instrumentations_check() -> None:
    assert not context.get_value(_otel_compat.SUPPRESS_INSTRUMENTATION_KEY)
    with _otel_compat.suppress_instrumentation():
        assert context.get_value(_otel_compat.SUPPRESS_INSTRUMENTATION_KEY) is True
    assert not context.get_value(_otel_compat.SUPPRESS_INSTRUMENTATION_KEY)


def test_resetting_the_global_lets_a_new_provider_be_set() -> None:
    first, second = TracerProvider(), TracerProvider()
    trace.set_tracer_provider(first)
    _otel_compat.reset_tracer_provider_global()
    trace.set_tracer_provider(second)
    assert trace.get_tracer_provider() is second
    _otel_compat.reset_tracer_provider_global()
