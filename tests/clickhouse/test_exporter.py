"""ClickHouseSpanExporter end to end on embedded ClickHouse, the aggregate table, and an unreachable store."""

from __future__ import annotations

import time

from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smarter_obs.exporters.clickhouse import ClickHouseSpanExporter
from tests.clickhouse.spanfactory import emit, make_spans, provider
from tests.clickhouse.test_mapping import by_span_id, expected_row
from tests.clickhouse.test_sink import closed_port

# Read every column back with full precision (DateTime64(9) → integer nanoseconds).
ROWS_SQL = """
SELECT toUnixTimestamp64Nano(Timestamp) AS Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName,
       SpanKind, ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration,
       StatusCode, StatusMessage,
       arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`) AS `Events.Timestamp`,
       `Events.Name`, `Events.Attributes`, `Links.TraceId`, `Links.SpanId`, `Links.TraceState`,
       `Links.Attributes`
FROM otel_traces
"""


def eventually(read, expected, seconds: float = 5.0) -> bool:
    """Poll ``read()`` until it returns ``expected`` (background writes), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while read() != expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def stored_rows(client) -> list[dict]:
    result = client.query(ROWS_SQL)
    return by_span_id([dict(zip(result.column_names, row, strict=True)) for row in result.result_rows])


def test_spans_from_a_batch_processor_arrive_with_every_column(
    clickhouse, chdb_url, clickhouse_database
) -> None:
    memory = InMemorySpanExporter()
    exporter = ClickHouseSpanExporter(chdb_url, database=clickhouse_database)
    tp = provider(21, "mcp-tools", memory)
    tp.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=128, schedule_delay_millis=50))
    emit(tp, 21, 700)
    assert tp.force_flush(10_000)
    tp.shutdown()
    expected = by_span_id([expected_row(span) for span in memory.get_finished_spans()])
    assert stored_rows(clickhouse) == expected
    assert exporter.exported == 700 and exporter.dropped == 0


def test_aggregate_table_agrees_with_raw_table(clickhouse, chdb_url, clickhouse_database) -> None:
    exporter = ClickHouseSpanExporter(chdb_url, database=clickhouse_database)
    spans = make_spans(seed=22, count=3000)
    for start in range(0, len(spans), 700):  # several inserts → several partial aggregates per minute
        assert exporter.export(spans[start : start + 700]) is SpanExportResult.SUCCESS
    raw = clickhouse.query("""
        SELECT toStartOfMinute(Timestamp) AS m, ServiceName, SpanAttributes['gen_ai.tool.name'] AS tool,
               SpanKind, count(), countIf(StatusCode = 'Error'), sum(Duration), max(Duration),
               quantileExact(0.5)(Duration)
        FROM otel_traces WHERE SpanAttributes['mcp.method.name'] = 'tools/call'
        GROUP BY m, ServiceName, tool, SpanKind ORDER BY m, ServiceName, tool, SpanKind""").result_rows
    aggregated = clickhouse.query("""
        SELECT Minute, ServiceName, ToolName, SpanKind, sum(Calls), sum(Errors), sum(DurationSum),
               max(DurationMax), quantileTDigestMerge(0.5)(DurationQuantiles)
        FROM mcp_tool_calls_1m
        GROUP BY Minute, ServiceName, ToolName, SpanKind
        ORDER BY Minute, ServiceName, ToolName, SpanKind""").result_rows
    assert len(raw) >= 20
    assert [r[:8] for r in aggregated] == [r[:8] for r in raw]
    total_calls = sum(r[4] for r in raw)
    assert total_calls == sum(1 for s in spans if s.attributes.get("mcp.method.name") == "tools/call")
    # t-digest medians are approximate; on a few dozen calls per group they stay close to the exact median
    for agg, exact in zip(aggregated, raw, strict=True):
        assert abs(agg[8] - exact[8]) <= 0.35 * max(exact[7], 1), (agg, exact)


def test_trace_id_lookup_table_is_filled(clickhouse, chdb_url, clickhouse_database) -> None:
    exporter = ClickHouseSpanExporter(chdb_url, database=clickhouse_database)
    spans = make_spans(seed=23, count=200)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    lookup = dict(
        clickhouse.query(
            "SELECT TraceId, toUnixTimestamp(min(Start)) FROM otel_traces_trace_id_ts GROUP BY TraceId"
        ).result_rows
    )
    assert len(lookup) == len({s.context.trace_id for s in spans})
    first = min(spans, key=lambda s: s.start_time)
    assert lookup[f"{first.context.trace_id:032x}"] == first.start_time // 1_000_000_000


def test_unreachable_clickhouse_never_raises_and_stays_bounded() -> None:
    exporter = ClickHouseSpanExporter(f"http://user:secret@127.0.0.1:{closed_port()}/otel", timeout=0.5)
    processor = BatchSpanProcessor(
        exporter,
        max_queue_size=256,
        max_export_batch_size=64,
        schedule_delay_millis=20,
        export_timeout_millis=1000,
    )
    tp = provider(24)
    tp.add_span_processor(processor)
    started = time.monotonic()
    emit(tp, 24, 2000)  # the service keeps working while ClickHouse is down
    creating = time.monotonic() - started
    tp.force_flush(3000)
    tp.shutdown()
    assert creating < 10
    assert exporter.exported == 0
    # the exporter only ever held the batch it was exporting; the processor's bounded queue dropped the rest
    assert 0 < exporter.dropped <= 2000
    assert exporter.export(make_spans(25, 3)) is SpanExportResult.FAILURE  # after shutdown: no raise


def test_a_single_export_gives_up_within_its_timeout() -> None:
    exporter = ClickHouseSpanExporter(f"http://127.0.0.1:{closed_port()}", timeout=0.6)
    started = time.monotonic()
    assert exporter.export(make_spans(26, 5)) is SpanExportResult.FAILURE
    assert time.monotonic() - started < 3
    assert exporter.dropped == 5


def test_back_to_back_full_batches_are_joined_and_written_within_max_delay(
    clickhouse, chdb_url, clickhouse_database
) -> None:
    exporter = ClickHouseSpanExporter(chdb_url, database=clickhouse_database, max_batch=2000, max_delay=0.3)
    spans = make_spans(seed=27, count=2600)
    batches = [spans[i : i + 256] for i in range(0, 2560, 256)]

    def stored() -> int:
        return clickhouse.command("SELECT count() FROM otel_traces")

    assert exporter.export(batches[0]) is SpanExportResult.SUCCESS
    assert stored() == 256  # a single batch is written at once
    for batch in batches[1:8]:
        assert exporter.export(batch) is SpanExportResult.SUCCESS
    assert (stored(), exporter.pending) == (256, 7 * 256)  # joined while the processor is under load
    assert exporter.export(batches[8]) is SpanExportResult.SUCCESS  # reaching max_batch writes them together
    assert exporter.pending == 0
    assert eventually(stored, 9 * 256)  # (by the background inserter)
    exporter.export(batches[9])
    assert exporter.pending == 256
    assert eventually(stored, 10 * 256)  # max_delay bounds how long joined spans wait
    exporter.export(batches[9][:100])  # a partial batch writes synchronously
    assert stored() == 10 * 256 + 100
    exporter.export(spans[:256])  # after a partial batch, the next one is written at once again
    exporter.export(spans[256:512])
    assert exporter.pending == 256
    exporter.shutdown()  # shutdown writes what is held
    assert stored() == 10 * 256 + 100 + 512 and exporter.dropped == 0


def test_a_burst_is_inserted_once_min_batch_spans_wait_and_no_insert_runs(
    clickhouse, chdb_url, clickhouse_database
) -> None:
    exporter = ClickHouseSpanExporter(
        chdb_url, database=clickhouse_database, max_batch=10_000, max_delay=30, min_batch=600
    )
    spans = make_spans(seed=28, count=1280)
    batches = [spans[i : i + 256] for i in range(0, 1280, 256)]

    def stored() -> int:
        return clickhouse.command("SELECT count() FROM otel_traces")

    for batch in batches[:3]:
        exporter.export(batch)
    assert (stored(), exporter.pending) == (256, 512)  # joined: fewer than min_batch wait
    exporter.export(batches[3])  # 768 >= min_batch and the inserter is idle: inserted now, not in 30 s
    assert exporter.pending == 0
    assert eventually(stored, 1024)
    exporter.export(batches[4])
    assert exporter.pending == 256
    exporter.shutdown()
    assert stored() == 1280 and exporter.dropped == 0


def test_outage_while_joining_batches_stays_bounded_and_shuts_down() -> None:
    exporter = ClickHouseSpanExporter(
        f"http://127.0.0.1:{closed_port()}", timeout=0.3, max_batch=1024, max_delay=0.1
    )
    spans = make_spans(seed=28, count=256)
    started = time.monotonic()
    peak = 0
    for _ in range(12):  # a loaded processor: full batches back to back
        assert exporter.export(spans) in (SpanExportResult.SUCCESS, SpanExportResult.FAILURE)
        peak = max(peak, exporter.pending)
    assert peak < 1024  # joined spans never exceed max_batch (plus one block being inserted)
    exporter.shutdown(timeout_millis=2000)
    assert time.monotonic() - started < 15
    assert exporter.exported == 0 and exporter.dropped == 12 * 256  # every span accounted for
    assert exporter.export(spans) is SpanExportResult.FAILURE
