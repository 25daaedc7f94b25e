"""SpanColumns → Arrow table: the rows ClickHouse receives are the mapped rows, in sorting-key order."""

from __future__ import annotations

import itertools

import pyarrow as pa

from smarter_obs.collectors.spans.rows import COLUMNS, from_sdk_spans
from smarter_obs.exporters.clickhouse import ClickHouseSpanExporter
from tests.clickhouse.spanfactory import make_spans
from tests.clickhouse.test_exporter import stored_rows
from tests.clickhouse.test_mapping import by_span_id, expected_row

DEFAULTS = {"ParentSpanId": "", "TraceState": "", "StatusMessage": "", **{c: [] for c in COLUMNS if "." in c}}


def mixed_spans() -> list:
    """Spans of three providers, interleaved: two share a service name, all have their own resource."""
    sources = [
        make_spans(seed, 150, service, resource={"service.instance.id": instance})
        for seed, service, instance in ((31, "mcp-tools", "a"), (32, "mcp-tools", "b"), (33, "shop-api", "a"))
    ]
    return [span for group in itertools.zip_longest(*sources) for span in group if span is not None]


def table_rows(table: pa.Table) -> list[dict]:
    """Arrow table → rows shaped like ``SpanColumns.rows()`` (maps as dicts, timestamps as integer ns)."""
    columns = {}
    for name in table.column_names:
        column = table[name]
        if name == "Timestamp":
            column = column.cast(pa.int64())
        elif name == "Events.Timestamp":
            column = column.cast(pa.list_(pa.int64()))
        columns[name] = column.to_pylist()
    rows = []
    for values in zip(*columns.values(), strict=True):
        row = dict(DEFAULTS)
        for name, value in zip(columns, values, strict=True):
            if name.endswith("Attributes"):
                value = [dict(m) for m in value] if name.startswith(("Events", "Links")) else dict(value)
            row[name] = value
        rows.append({name: row[name] for name in COLUMNS})
    return rows


def test_arrow_table_holds_exactly_the_mapped_rows() -> None:
    block = from_sdk_spans(mixed_spans())
    table = block.to_arrow()
    assert by_span_id(table_rows(table)) == by_span_id(block.rows())
    # one dictionary entry per distinct value, although the runs alternate between three resources
    assert sorted(table["ServiceName"].combine_chunks().dictionary.to_pylist()) == ["mcp-tools", "shop-api"]
    assert len({tuple(sorted(m)) for m in table["ResourceAttributes"].to_pylist()}) == 3


def test_rows_are_in_the_tables_sorting_key_order() -> None:
    table = from_sdk_spans(mixed_spans()).to_arrow()
    keys = list(
        zip(
            table["ServiceName"].to_pylist(),
            table["SpanName"].to_pylist(),
            table["Timestamp"].cast(pa.int64()).to_pylist(),
            strict=True,
        )
    )
    assert keys == sorted(keys) and len(set(keys)) > 100


def test_columns_holding_only_defaults_are_left_out() -> None:
    spans = make_spans(seed=34, count=300)
    full = from_sdk_spans(spans).to_arrow()
    assert full.column_names == list(COLUMNS)
    plain = [
        s
        for s in spans
        if not s.parent
        and not s.events
        and not s.links
        and not s.status.description
        and not len(s.context.trace_state)
    ]
    bare = from_sdk_spans(plain).to_arrow()
    assert set(COLUMNS) - set(bare.column_names) == set(DEFAULTS)
    assert by_span_id(table_rows(bare)) == by_span_id([expected_row(s) for s in plain])


def test_joined_batches_of_several_providers_arrive(clickhouse, chdb_url, clickhouse_database) -> None:
    spans = mixed_spans()
    exporter = ClickHouseSpanExporter(chdb_url, database=clickhouse_database, max_batch=256)
    for i in range(0, len(spans), 64):  # equal full batches: joined into inserts of 256 spans
        exporter.export(spans[i : i + 64])
    assert exporter.force_flush(10_000)
    exporter.shutdown()
    assert (exporter.exported, exporter.dropped) == (len(spans), 0)
    assert stored_rows(clickhouse) == by_span_id([expected_row(span) for span in spans])
