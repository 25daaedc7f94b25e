"""``init_tracing(exporter="clickhouse")`` and ``OTEL_TRACES_EXPORTER=clickhouse``: spans in otel_traces."""

from __future__ import annotations

import logging
import time
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


def test_a_dead_clickhouse_gives_one_warning_not_a_driver_line_per_retry(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 10: with ClickHouse down, urllib3 and clickhouse-connect logged on every retry (12 lines in 3 s)
    # although the docs promise one warning per exporter per 60 s.
    from smarter_obs.exporters.clickhouse import ClickHouseSpanExporter
    from smarter_obs.tracing import _exporters
    from tests.clickhouse.test_sink import closed_port

    caplog.set_level(logging.WARNING)  # every logger, as a service's root handler sees them
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")  # whatever earlier tests set
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    # The exporter's own retry window (10 s by default) shortened so that several exports fail in 3 s.
    monkeypatch.setitem(
        _exporters.REGISTRY, "clickhouse", lambda spec: ClickHouseSpanExporter(spec.endpoint, timeout=1.0)
    )
    url = f"http://user:s3cret@127.0.0.1:{closed_port()}/otel"
    telemetry = smarter_obs.init_tracing("svc", exporter="clickhouse", endpoint=url)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        call_tools(1)
        time.sleep(0.05)
    telemetry.force_flush(timeout=5)
    stats = telemetry.stats()
    assert stats.exporters[0].failed_exports >= 2  # the driver failed again and again …
    records = [(r.name, r.getMessage()) for r in caplog.records]
    assert [name for name, _ in records] == ["smarter_obs.tracing"], records  # … and one line says so
    assert "ClickHouse unavailable" in records[0][1] and "spans dropped" in records[0][1]
    assert "s3cret" not in records[0][1]


def test_the_service_s_own_http_warnings_are_not_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    # Only the exporter's threads are kept quiet: the service's own urllib3 lines still reach its log.
    from smarter_obs.exporters.clickhouse import DRIVER_LOGGERS

    caplog.set_level(logging.WARNING)
    DRIVER_LOGGERS.install()
    logging.getLogger("urllib3.connectionpool").warning("Retrying after connection broken")
    assert [r.name for r in caplog.records] == ["urllib3.connectionpool"]
