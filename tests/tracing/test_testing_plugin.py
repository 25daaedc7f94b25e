"""smarter_obs.testing: the capture_spans fixture and its deterministic output."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry import trace

import smarter_obs
from smarter_obs.testing import CapturedSpans, capture, capture_spans


def _work() -> None:
    tracer = trace.get_tracer("service")
    with (
        tracer.start_as_current_span("request", attributes={"b": 2, "a": 1}),
        tracer.start_as_current_span("db"),
    ):
        pass
    with tracer.start_as_current_span("second request"):
        pass


def test_as_dicts_numbers_ids_by_appearance_and_is_identical_across_runs() -> None:
    outputs = []
    for _ in range(2):
        with capture() as captured:
            _work()
            outputs.append(captured.as_dicts())
    assert outputs[0] == outputs[1]
    assert [(s["name"], s["trace"], s["span"], s["parent"]) for s in outputs[0]] == [
        ("db", 1, 2, 1),
        ("request", 1, 1, None),
        ("second request", 2, 3, None),
    ]
    assert list(outputs[0][1]["attributes"]) == ["a", "b"]


def test_code_under_test_calling_init_tracing_is_captured_quietly(
    capture_spans: CapturedSpans, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    telemetry = smarter_obs.init_tracing("the-service", exporter="otlp", endpoint="http://collector:4318")
    assert telemetry is capture_spans.telemetry
    _work()
    assert capture_spans.names() == ["db", "request", "second request"]
    assert caplog.records == []
    (first,) = capture_spans.as_dicts(resource=True)[:1]
    assert first["resource"]["service.name"] == "test-service"
    capture_spans.clear()
    assert capture_spans.spans() == []


def test_the_fixture_is_available_to_any_project_through_the_pytest11_entry_point(tmp_path: Path) -> None:
    test_file = tmp_path / "test_service.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import smarter_obs

            def test_tool(capture_spans):
                with smarter_obs.tool_span("ping"):
                    pass
                assert capture_spans.names() == ["tools/call ping"]
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_parent_from_an_incoming_traceparent_shows_as_external(capture_spans: CapturedSpans) -> None:
    from opentelemetry import propagate

    incoming = propagate.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    with trace.get_tracer("t").start_as_current_span("handler", context=incoming):
        pass
    assert [(s["trace"], s["parent"]) for s in capture_spans.as_dicts()] == [(1, "external")]


def test_capture_spans_is_also_a_context_manager() -> None:
    with capture_spans() as spans:
        with smarter_obs.tool_span("ping"):
            pass
        assert spans.names() == ["tools/call ping"]
    with capture_spans("other-service") as spans:
        _work()
        assert [s["resource"]["service.name"] for s in spans.as_dicts(resource=True)] == ["other-service"] * 3


def test_capture_spans_works_without_pytest(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["pytest"] = None  # as in a process where pytest is not installed
        import smarter_obs
        from smarter_obs.testing import capture_spans

        with capture_spans() as spans:
            with smarter_obs.tool_span("ping"):
                pass
            print(spans.names())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['tools/call ping']"
