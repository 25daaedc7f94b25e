"""init_tracing: idempotency, reconfiguration, adoption, disabled SDK, default "export nowhere", resource."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import smarter_obs
from smarter_obs.tracing._exporters import CountingBatchSpanProcessor


def _processors(telemetry) -> list:
    return [p for p in telemetry.provider._active_span_processor._span_processors]


def test_same_configuration_returns_the_same_handle_and_never_adds_a_processor() -> None:
    first = smarter_obs.init_tracing("svc", exporter="console")
    again = smarter_obs.init_tracing("svc", exporter="console")
    assert again is first
    assert len(_processors(first)) == 1
    assert trace.get_tracer_provider().force_flush  # the global reaches our SDK provider


def test_different_configuration_warns_once_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    first = smarter_obs.init_tracing("svc", exporter="console")
    for _ in range(3):
        assert smarter_obs.init_tracing("other", exporter=["console", "none"], sample_ratio=0.5) is first
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "resource_attributes" in warnings[0] and "sampler" in warnings[0] and "shutdown()" in warnings[0]
    assert first.service_name == "svc" and len(_processors(first)) == 1


def test_shutdown_resets_and_a_new_init_configures_anew_for_old_tracers_too() -> None:
    early_tracer = trace.get_tracer("early")  # taken before any init, like an instrumented library does
    memory_a, memory_b = InMemorySpanExporter(), InMemorySpanExporter()
    first = smarter_obs.init_tracing("a", exporter=memory_a)
    with early_tracer.start_as_current_span("one"):
        pass
    assert smarter_obs.shutdown() is True
    assert first.closed and smarter_obs.tracing.current() is None
    second = smarter_obs.init_tracing("b", exporter=memory_b)
    assert second is not first
    with early_tracer.start_as_current_span("two"):
        pass
    second.force_flush()
    assert [s.name for s in memory_a.get_finished_spans()] == ["one"]
    assert [s.name for s in memory_b.get_finished_spans()] == ["two"]
    assert memory_b.get_finished_spans()[0].resource.attributes["service.name"] == "b"


def test_functions_decorated_after_init_follow_a_reconfiguration() -> None:
    memory_a, memory_b = InMemorySpanExporter(), InMemorySpanExporter()
    smarter_obs.init_tracing("a", exporter=memory_a)
    tracer = trace.get_tracer("imported-late")  # a module imported after init_tracing

    @tracer.start_as_current_span("handle")
    def handle() -> None:
        pass

    handle()
    smarter_obs.shutdown()
    second = smarter_obs.init_tracing("b", exporter=memory_b)
    handle()
    second.force_flush()
    assert [s.name for s in memory_a.get_finished_spans()] == ["handle"]
    assert [s.resource.attributes["service.name"] for s in memory_b.get_finished_spans()] == ["b"]


def test_a_foreign_sdk_provider_is_adopted_not_fought(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="smarter_obs.tracing")
    foreign_memory = InMemorySpanExporter()
    foreign = TracerProvider()
    foreign.add_span_processor(SimpleSpanProcessor(foreign_memory))
    trace.set_tracer_provider(foreign)  # what opentelemetry-instrument does before the app starts
    telemetry = smarter_obs.init_tracing("svc", exporter="console")
    assert smarter_obs.init_tracing("svc", exporter="console") is telemetry
    assert telemetry.mode == "adopted" and telemetry.provider is foreign
    assert trace.get_tracer_provider() is foreign
    assert len(foreign._active_span_processor._span_processors) == 1  # nothing added to it
    with smarter_obs.tool_span("lookup"):
        pass
    assert [s.name for s in foreign_memory.get_finished_spans()] == ["tools/call lookup"]
    adopted = [r for r in caplog.records if "adopts" in r.getMessage()]
    assert len(adopted) == 1 and "TracerProvider" in adopted[0].getMessage()
    smarter_obs.shutdown()
    foreign.shutdown()


def test_an_api_only_foreign_provider_is_adopted_and_flushing_it_never_raises() -> None:
    trace.set_tracer_provider(trace.NoOpTracerProvider())
    telemetry = smarter_obs.init_tracing("svc", exporter="console")
    assert telemetry.mode == "adopted"
    assert telemetry.force_flush() is True
    assert smarter_obs.shutdown() is True


def test_otel_sdk_disabled_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    memory = InMemorySpanExporter()
    telemetry = smarter_obs.init_tracing("svc", exporter=memory)
    assert telemetry.mode == "disabled"
    with telemetry.tracer("t").start_as_current_span("x") as span:
        assert not span.is_recording()
    assert memory.get_finished_spans() == ()
    assert telemetry.force_flush() is True  # nothing pending: a CLI checking the flush must not warn


def test_nothing_configured_exports_nowhere_says_so_once_and_still_propagates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="smarter_obs.tracing")
    telemetry = smarter_obs.init_tracing("svc")
    smarter_obs.init_tracing("svc")
    nowhere = [r for r in caplog.records if "exports nowhere" in r.getMessage()]
    assert len(nowhere) == 1 and nowhere[0].levelno == logging.INFO
    assert telemetry.stats().exporters == ()
    incoming = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    with telemetry.tracer("t").start_as_current_span("handle", context=propagate.extract(incoming)) as span:
        assert span.is_recording()
        outgoing: dict[str, str] = {}
        propagate.inject(outgoing)
    assert outgoing["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert outgoing["traceparent"] != incoming["traceparent"]  # our span is the new parent


def test_resource_carries_service_host_process_and_instance_attributes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=payments")
    telemetry = smarter_obs.init_tracing("mcp-server", service_version="2.0.1", environment="staging")
    attrs = telemetry.resource.attributes
    assert attrs["service.name"] == "mcp-server"
    assert attrs["service.version"] == "2.0.1"
    assert attrs["service.namespace"] == "smarteros"
    assert attrs["deployment.environment.name"] == "staging"
    assert attrs["team"] == "payments"
    assert attrs["process.pid"] == os.getpid()
    assert attrs["host.name"] and attrs["process.runtime.name"] == "cpython"
    first_id = attrs["service.instance.id"]
    smarter_obs.shutdown()
    assert smarter_obs.init_tracing("mcp-server").resource.attributes["service.instance.id"] != first_id


def test_unknown_exporter_falls_back_without_crashing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    telemetry = smarter_obs.init_tracing("svc", exporter="zipkin,console")
    assert [p.stats.label for p in _processors(telemetry)] == ["console"]
    assert "unknown trace exporter 'zipkin'" in caplog.text


def test_clickhouse_exporter_without_its_module_gives_a_clear_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "smarter_obs.exporters.clickhouse", None)  # as if not installed
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    telemetry = smarter_obs.init_tracing("svc", exporter="clickhouse")
    assert _processors(telemetry) == []
    assert "clickhouse" in caplog.text and "smarter-obs[clickhouse]" in caplog.text


def test_processors_are_bounded_batch_processors_with_the_configured_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16")
    telemetry = smarter_obs.init_tracing("svc", exporter="console")
    (processor,) = _processors(telemetry)
    assert isinstance(processor, CountingBatchSpanProcessor)
    assert processor._batch_processor._queue.maxlen == 64


def test_otel_propagators_is_honoured_and_unknown_names_are_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    previous = propagate.get_global_textmap()
    monkeypatch.setenv("OTEL_PROPAGATORS", "baggage,nosuch")
    try:
        smarter_obs.init_tracing("svc")
        assert propagate.get_global_textmap().fields == {"baggage"}
        assert "'nosuch' is not installed" in caplog.text
    finally:
        propagate.set_global_textmap(previous)


def test_an_object_that_is_not_an_exporter_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    telemetry = smarter_obs.init_tracing("svc", exporter=[object(), "console"])
    assert [p.stats.label for p in _processors(telemetry)] == ["console"]
    assert "is not a SpanExporter" in caplog.text


def test_exporting_spans_serializes_the_resource_once_not_per_span(monkeypatch: pytest.MonkeyPatch) -> None:
    # The OTLP encoders group spans by resource and Resource.__hash__ dumps every attribute to JSON: per
    # span that cost more than a bare SDK resource (which has fewer attributes) does.
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk import resources

    from smarter_obs.tracing._otel_compat import update_resource

    memory = InMemorySpanExporter()
    telemetry = smarter_obs.init_tracing("svc", exporter=memory)

    def spans() -> list:
        memory.clear()
        for _ in range(50):
            with telemetry.tracer("t").start_as_current_span("x"):
                pass
        telemetry.force_flush()
        return list(memory.get_finished_spans())

    dumps: list[int] = []
    real_dumps = resources.dumps
    monkeypatch.setattr(resources, "dumps", lambda *a, **k: dumps.append(1) or real_dumps(*a, **k))
    batch = spans()
    encode_spans(batch)
    encode_spans(batch)
    assert len(dumps) == 1
    # After a fork the SDK (and smarter-obs) merge the child's process attributes into the resource.
    update_resource(telemetry.provider, resources.Resource({"process.pid": 1}))
    batch = spans()
    assert batch[0].resource.attributes["process.pid"] == 1
    encode_spans(batch)
    assert len(dumps) == 2


def test_spans_ended_after_shutdown_are_counted_not_logged_per_span(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    memory = InMemorySpanExporter()
    telemetry = smarter_obs.init_tracing("svc", exporter=memory)
    tracer = telemetry.provider.get_tracer("kept-across-shutdown")
    smarter_obs.shutdown()
    for _ in range(5):
        with tracer.start_as_current_span("late"):
            pass
    assert telemetry.stats().spans_dropped == 5
    assert len(caplog.records) == 1 and "not exported before shutdown" in caplog.records[0].getMessage()


def test_always_off_sampler_records_nothing_but_keeps_the_incoming_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    memory = InMemorySpanExporter()
    telemetry = smarter_obs.init_tracing("svc", exporter=memory)
    incoming = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    with telemetry.tracer("t").start_as_current_span("x", context=propagate.extract(incoming)) as span:
        assert not span.is_recording()
        assert span.get_span_context().trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    telemetry.force_flush()
    assert memory.get_finished_spans() == ()


def test_an_unknown_propagator_in_a_fresh_process_does_not_stop_export() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import smarter_obs\n"
        "t = smarter_obs.init_tracing('svc', exporter='console')\n"
        "from opentelemetry import propagate\n"
        "print(t.mode, len(t.stats().exporters), sorted(propagate.get_global_textmap().fields))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_PROPAGATORS"] = "tracecontext,nosuch"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=2) == ["sdk", "1", "['traceparent', 'tracestate']\n"]
    assert "'nosuch' is not installed" in result.stderr
