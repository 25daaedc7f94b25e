"""``init_tracing(exporter="clickhouse")`` and ``OTEL_TRACES_EXPORTER=clickhouse``: spans in otel_traces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace

import smarter_obs
from smarter_obs.testing import reset_tracing


@pytest.fixture(autouse=True)
def clean_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_SERVICE_NAME",
        "OTEL_SDK_DISABLED",
        "SMARTER_OBS_CLICKHOUSE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    reset_tracing()
    yield
    reset_tracing()


def call_tools(count: int) -> None:
    tracer = trace.get_tracer("mcp-python-sdk", "2.3.0")
    for i in range(count):
        with tracer.start_as_current_span(
            f"tools/call tool{i % 3}",
            kind=trace.SpanKind.SERVER,
            attributes={"mcp.method.name": "tools/call", "gen_ai.tool.name": f"tool{i % 3}"},
        ) as span:
            with tracer.start_as_current_span("db.query"):
                pass
            if i % 4 == 0:
                span.set_status(trace.Status(trace.StatusCode.ERROR, "failed"))


def test_init_tracing_with_the_clickhouse_exporter(
    clickhouse, chdb_url, clickhouse_database, monkeypatch
) -> None:
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_DATABASE", clickhouse_database)
    telemetry = smarter_obs.init_tracing("mcp-shop", exporter="clickhouse", endpoint=chdb_url)
    call_tools(40)
    assert telemetry.force_flush(10)
    rows = clickhouse.query(
        "SELECT ServiceName, SpanKind, StatusCode, count(), countIf(ParentSpanId != '') "
        "FROM otel_traces GROUP BY ServiceName, SpanKind, StatusCode "
        "ORDER BY SpanKind, StatusCode"
    ).result_rows
    assert rows == [
        ("mcp-shop", "Internal", "Unset", 40, 40),
        ("mcp-shop", "Server", "Error", 10, 0),
        ("mcp-shop", "Server", "Unset", 30, 0),
    ]
    per_tool = clickhouse.query(
        "SELECT ToolName, sum(Calls), sum(Errors) FROM mcp_tool_calls_1m GROUP BY ToolName ORDER BY ToolName"
    ).result_rows
    expected = [
        (
            f"tool{t}",
            sum(1 for i in range(40) if i % 3 == t),
            sum(1 for i in range(40) if i % 3 == t and i % 4 == 0),
        )
        for t in range(3)
    ]
    assert per_tool == expected


def test_otel_traces_exporter_env_selects_clickhouse(
    clickhouse, chdb_url, clickhouse_database, monkeypatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "clickhouse")
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_URL", chdb_url)
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_DATABASE", clickhouse_database)
    telemetry = smarter_obs.init_tracing("env-service")
    call_tools(5)
    assert telemetry.force_flush(10)
    assert clickhouse.query(
        "SELECT ServiceName, count() FROM otel_traces GROUP BY ServiceName"
    ).result_rows == [("env-service", 10)]


def test_force_flush_writes_a_burst_that_ends_on_a_full_batch(
    clickhouse, chdb_url, clickhouse_database, monkeypatch
) -> None:
    # The batch processor hands the exporter only full batches here; the exporter joins them for bigger
    # inserts, so Telemetry.force_flush must reach through to the exporter.
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_DATABASE", clickhouse_database)
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128")
    telemetry = smarter_obs.init_tracing("burst", exporter="clickhouse", endpoint=chdb_url)
    call_tools(128)  # 256 spans = two full batches back to back: the second is joined, held back
    assert telemetry.force_flush(10)
    assert clickhouse.query("SELECT count() FROM otel_traces").result_rows == [(256,)]
