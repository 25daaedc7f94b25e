"""Export over real OTLP/HTTP, behaviour with a dead backend, queue limits, exit flush and fork safety."""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import smarter_obs
from smarter_obs.tracing import _exporters, _stats
from tests.tracing.otlp_receiver import OtlpReceiver, closed_port_url


def test_spans_reach_an_otlp_http_receiver_with_headers_and_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    with OtlpReceiver() as receiver:
        telemetry = smarter_obs.init_tracing(
            "orders", endpoint=receiver.url, headers={"Authorization": "Bearer t0ken"}, environment="test"
        )
        with telemetry.tracer("t").start_as_current_span("work"):
            pass
        (span,) = receiver.wait_for(1)
        assert receiver.paths == ["/v1/traces"]
        assert receiver.headers[0]["authorization"] == "Bearer t0ken"
        assert span.name == "work"
        assert span.resource["service.name"] == "orders"
        assert span.resource["deployment.environment.name"] == "test"
        telemetry.force_flush()  # the receiver answers before the exporter counts the success
        stats = telemetry.stats()
        assert (stats.spans_exported, stats.spans_dropped) == (1, 0)


def test_dead_backend_never_blocks_or_raises_and_reports_drops_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.5")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10")
    telemetry = smarter_obs.init_tracing("svc", endpoint=closed_port_url())
    tracer = telemetry.tracer("t")
    started = time.perf_counter()
    for i in range(50):
        with tracer.start_as_current_span(f"request {i}"):
            pass
    creation = time.perf_counter() - started
    assert telemetry.force_flush(timeout=20) is True
    stats = telemetry.stats()
    assert stats.spans_exported == 0
    assert stats.spans_dropped == 50
    (exporter,) = stats.exporters
    assert exporter.failed_exports >= 1 and exporter.last_error
    reports = [r for r in caplog.records if r.name == "smarter_obs.tracing" and r.levelno >= logging.WARNING]
    assert len(reports) == 1, [r.getMessage() for r in reports]
    assert "spans dropped" in reports[0].getMessage()
    sdk_noise = [
        r for r in caplog.records if r.name.startswith("opentelemetry") and r.levelno >= logging.WARNING
    ]
    assert sdk_noise == []
    # 50 spans were created while every export failed; creation is in-memory work only.
    assert creation < 5, creation


def test_failure_reports_repeat_after_the_interval_with_the_count_since_the_last(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_stats, "REPORT_INTERVAL_S", 0.0)
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.2")
    telemetry = smarter_obs.init_tracing("svc", endpoint=closed_port_url())
    for _ in range(2):
        with telemetry.tracer("t").start_as_current_span("x"):
            pass
        telemetry.force_flush(timeout=10)
    messages = [r.getMessage() for r in caplog.records if "spans dropped" in r.getMessage()]
    assert len(messages) == 2
    assert "1 spans dropped since the last report, 1 in total" in messages[0]
    assert "1 spans dropped since the last report, 2 in total" in messages[1]


def test_a_full_queue_drops_and_counts_instead_of_blocking(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "8")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.2")
    with OtlpReceiver() as receiver:
        telemetry = smarter_obs.init_tracing("svc", endpoint=receiver.url)
        processor = telemetry.provider._active_span_processor._span_processors[0]
        # Hold the export lock so the worker cannot drain the queue while we fill it.
        with processor._batch_processor._export_lock:
            for _ in range(30):
                with telemetry.tracer("t").start_as_current_span("burst"):
                    pass
            queued = telemetry.stats()
        assert queued.spans_queued == 8
        (exporter,) = queued.exporters
        assert exporter.dropped_queue_full == 22
        telemetry.force_flush(timeout=10)
        assert len(receiver.wait_for(8)) == 8
        stats = telemetry.stats()
        assert (stats.spans_exported, stats.spans_dropped, stats.spans_queued) == (8, 22, 0)
    # One report of ours, not the SDK's "Queue full, dropping Span." per dropped span.
    assert [r.name for r in caplog.records] == ["smarter_obs.tracing"]
    assert "queue full; 1 spans dropped" in caplog.records[0].getMessage()


_CHILD_SCRIPT = textwrap.dedent(
    """
    import sys
    import smarter_obs
    smarter_obs.init_tracing("exiting-service", endpoint=sys.argv[1])
    from opentelemetry import trace
    tracer = trace.get_tracer("script")
    for i in range(3):
        with tracer.start_as_current_span(f"job {i}"):
            pass
    if sys.argv[2] == "sys.exit":
        sys.exit(3)
    """
)


@pytest.mark.parametrize(("how", "code"), [("normal", 0), ("sys.exit", 3)])
def test_spans_ended_before_exit_are_flushed(how: str, code: int) -> None:
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        # The default 5 s batch delay would keep them queued: only the exit flush can deliver them.
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", _CHILD_SCRIPT, receiver.url, how],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == code, result.stderr.decode()
        assert time.monotonic() - started < 30
        spans = receiver.wait_for(3, timeout=5)
        assert sorted(s.name for s in spans) == ["job 0", "job 1", "job 2"]
        assert {s.resource["service.name"] for s in spans} == {"exiting-service"}


def test_exit_with_a_dead_backend_is_bounded() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_BSP_EXPORT_TIMEOUT"] = "1500"
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "30"
    started = time.monotonic()
    # A port that accepts but never answers would hang an unbounded exporter for 30 s.
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = subprocess.run(
            [sys.executable, "-c", _CHILD_SCRIPT, url, "normal"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode()
    assert time.monotonic() - started < 15


_LATE_MULTIPROCESSING_SCRIPT = textwrap.dedent(
    """
    import sys
    import smarter_obs
    smarter_obs.init_tracing("late-mp", endpoint=sys.argv[1])
    assert "multiprocessing" not in sys.modules  # init_tracing does not import it
    import multiprocessing

    def work():
        from opentelemetry import trace
        with trace.get_tracer("child").start_as_current_span("child work"):
            pass  # not flushed here: the child leaves through os._exit

    child = multiprocessing.get_context("fork").Process(target=work)
    child.start()
    child.join(30)
    sys.exit(child.exitcode)
    """
)


def test_a_multiprocessing_child_flushes_even_if_multiprocessing_was_imported_after_init() -> None:
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env["OTEL_BSP_SCHEDULE_DELAY"] = "60000"  # only the child's exit flush can deliver its span
        result = subprocess.run(
            [sys.executable, "-c", _LATE_MULTIPROCESSING_SCRIPT, receiver.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert [s.name for s in receiver.wait_for(1, timeout=10)] == ["child work"]


def _child_work(url_queue: multiprocessing.Queue) -> None:
    from opentelemetry import trace

    from smarter_obs.tracing import current

    telemetry = current()
    with trace.get_tracer("child").start_as_current_span(f"child work {os.getpid()}"):
        pass
    url_queue.put((os.getpid(), telemetry.resource.attributes["service.instance.id"]))
    # No flush here: the child leaves through os._exit and must still deliver its span.


def test_spans_ended_in_a_forked_child_are_exported_by_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")  # nothing leaves unless flushed on exit
    with OtlpReceiver() as receiver:
        telemetry = smarter_obs.init_tracing("forking-service", endpoint=receiver.url)
        with telemetry.tracer("parent").start_as_current_span("parent work"):
            pass  # queued in the parent before the fork: the child must not export it again
        parent_instance = telemetry.resource.attributes["service.instance.id"]
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        children = [context.Process(target=_child_work, args=(results,)) for _ in range(2)]
        for child in children:
            child.start()
        for child in children:
            child.join(30)
            assert child.exitcode == 0
        reported = dict(results.get(timeout=5) for _ in children)
        spans = receiver.wait_for(2, timeout=10)
        child_spans = {s.name: s for s in spans}
        assert set(child_spans) == {f"child work {pid}" for pid in reported}
        for pid, instance_id in reported.items():
            resource = child_spans[f"child work {pid}"].resource
            assert resource["process.pid"] == pid
            assert resource["service.instance.id"] == instance_id != parent_instance
        assert telemetry.stats().spans_exported == 0  # the parent has exported nothing yet
        telemetry.force_flush(timeout=10)
        names = [s.name for s in receiver.wait_for(3, timeout=10)]
        assert names.count("parent work") == 1


class _ProcessNotingExporter(SpanExporter):
    """A registry exporter that notes "<event> <pid it was built in> <pid now>" in ``log``."""

    log: Path

    def __init__(self) -> None:
        self.built_in = os.getpid()
        self._note("built")

    def _note(self, event: str) -> None:
        with self.log.open("a") as out:
            out.write(f"{event} {self.built_in} {os.getpid()}\n")

    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._note("flush")
        return True

    def shutdown(self) -> None:
        self._note("shutdown")


def _idle_child() -> None:
    """Ends no span, flushes, leaves through multiprocessing's os._exit (a finalizer shuts tracing down)."""
    from smarter_obs.tracing import current

    assert current().force_flush(timeout=10)


def test_a_forked_child_that_exported_nothing_leaves_the_parents_exporter_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The parent's exporter may hold spans and connections (the ClickHouse exporter joins batches): a child
    # flushing or shutting down its copy would write the parent's spans again over the parent's connection,
    # and building its own just to flush nothing opens a connection for nothing.
    monkeypatch.setattr(_ProcessNotingExporter, "log", tmp_path / "events", raising=False)
    monkeypatch.setitem(_exporters.REGISTRY, "console", lambda spec: _ProcessNotingExporter())
    smarter_obs.init_tracing("forking-service", exporter="console")
    child = multiprocessing.get_context("fork").Process(target=_idle_child)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    smarter_obs.shutdown()
    parent = os.getpid()
    events = (tmp_path / "events").read_text().splitlines()
    assert events == [f"built {parent} {parent}", f"shutdown {parent} {parent}"]


_PREFORK_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import smarter_obs
    from opentelemetry import trace
    telemetry = smarter_obs.init_tracing("prefork-server", endpoint=sys.argv[1])  # master, before fork
    pid = os.fork()
    if pid == 0:  # a worker, as gunicorn creates them: it serves, then leaves through sys.exit
        with trace.get_tracer("worker").start_as_current_span("worker request"):
            pass
        sys.exit(0)
    _, status = os.waitpid(pid, 0)
    print(pid, os.waitstatus_to_exitcode(status), telemetry.resource.attributes["service.instance.id"])
    """
)


def test_a_prefork_worker_exports_its_own_spans_under_its_own_identity() -> None:
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        result = subprocess.run(
            [sys.executable, "-c", _PREFORK_SCRIPT, receiver.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        worker_pid, worker_code, master_instance = result.stdout.split()
        assert worker_code == "0"
        (span,) = receiver.wait_for(1, timeout=5)
        assert span.name == "worker request"
        assert span.resource["process.pid"] == int(worker_pid)
        assert span.resource["service.instance.id"] != master_instance


def test_grpc_protocol_exports_to_a_real_grpc_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    received: list[str] = []
    metadata: list[dict] = []

    class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):  # gRPC method name
            metadata.append(dict(context.invocation_metadata()))
            received.extend(
                s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
            )
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Receiver(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=smarteros")
        telemetry = smarter_obs.init_tracing("grpc-service", endpoint=f"http://127.0.0.1:{port}")
        with telemetry.tracer("t").start_as_current_span("over grpc"):
            pass
        assert telemetry.force_flush(timeout=10)
        assert received == ["over grpc"]
        assert metadata[0]["x-tenant"] == "smarteros"
        assert telemetry.stats().spans_exported == 1
    finally:
        smarter_obs.shutdown(timeout=5)
        server.stop(0)
