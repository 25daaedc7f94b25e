"""The http(s):// path (a ClickHouse server) writes the same rows as the embedded one.

Runs through tests/clickhouse/http_shim.py: clickhouse-connect's HTTP client against ClickHouse's HTTP
interface, every statement executed by the real engine.
"""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from smarter_obs.errors import SinkError, SinkUnavailableError
from smarter_obs.exporters.clickhouse import ClickHouseSpanExporter
from smarter_obs.sinks.clickhouse import ClickHouseSink
from tests.clickhouse.spanfactory import make_spans
from tests.clickhouse.test_exporter import stored_rows
from tests.clickhouse.test_mapping import by_span_id, expected_row


def test_exporter_over_http_writes_every_column(shim, clickhouse, clickhouse_database) -> None:
    spans = make_spans(seed=41, count=600)
    exporter = ClickHouseSpanExporter(f"{shim.url}/{clickhouse_database}", max_batch=256, min_batch=256)
    for i in range(0, 512, 128):  # joined full batches, then a partial one
        assert exporter.export(spans[i : i + 128]) is SpanExportResult.SUCCESS
    assert exporter.export(spans[512:]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert (exporter.exported, exporter.dropped) == (600, 0)
    assert stored_rows(clickhouse) == by_span_id([expected_row(span) for span in spans])
    inserts = [r for r in shim.requests if r.params.get("query", "").startswith("INSERT")]
    assert inserts and all(r.params["query"].endswith("FORMAT Arrow") for r in inserts)
    assert all(r.params["compile_aggregate_expressions"] == "0" for r in inserts)
    assert not any("shim-password" in str(r.params) for r in shim.requests)  # credentials travel as headers


def test_rejected_insert_over_http_is_a_sink_error_naming_the_table(
    shim, clickhouse, clickhouse_database
) -> None:
    import pyarrow as pa

    with ClickHouseSink(f"{shim.url}/{clickhouse_database}") as sink, pytest.raises(SinkError) as info:
        sink.write_arrow("otel_traces", pa.table({"NoSuchColumn": [1]}))
    assert not isinstance(info.value, SinkUnavailableError)
    assert info.value.table == f"{clickhouse_database}.otel_traces"
    assert "shim-password" not in str(info.value)
