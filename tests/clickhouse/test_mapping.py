"""Span → otel_traces row mapping: values as the Collector writes them; SDK and OTLP paths agree."""

from __future__ import annotations

import base64
import json

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.trace import SpanKind, StatusCode

from smarter_obs.collectors.spans.rows import COLUMNS, attribute_string, from_otlp, from_sdk_spans
from tests.clickhouse.spanfactory import make_spans


def by_span_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: row["SpanId"])


def expected_row(span) -> dict:
    """The row the Collector would write, derived from the span's public API."""

    def strings(attributes) -> dict:
        out = {}
        for key, value in (attributes or {}).items():
            if isinstance(value, bool):
                out[key] = "true" if value else "false"
            elif isinstance(value, float):
                out[key] = f"{value:f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
            elif isinstance(value, tuple):
                out[key] = json.dumps(
                    [v if not isinstance(v, float) or v != int(v) else int(v) for v in value],
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
            else:
                out[key] = str(value)
        return out

    kind_names = {
        SpanKind.INTERNAL: "Internal",
        SpanKind.SERVER: "Server",
        SpanKind.CLIENT: "Client",
        SpanKind.PRODUCER: "Producer",
        SpanKind.CONSUMER: "Consumer",
    }
    status_names = {StatusCode.UNSET: "Unset", StatusCode.OK: "Ok", StatusCode.ERROR: "Error"}
    return {
        "Timestamp": span.start_time,
        "TraceId": f"{span.context.trace_id:032x}",
        "SpanId": f"{span.context.span_id:016x}",
        "ParentSpanId": f"{span.parent.span_id:016x}" if span.parent else "",
        "TraceState": span.context.trace_state.to_header(),
        "SpanName": span.name,
        "SpanKind": kind_names[span.kind],
        "ServiceName": span.resource.attributes["service.name"],
        "ResourceAttributes": strings(span.resource.attributes),
        "ScopeName": span.instrumentation_scope.name,
        "ScopeVersion": span.instrumentation_scope.version or "",
        "SpanAttributes": strings(span.attributes),
        "Duration": span.end_time - span.start_time,
        "StatusCode": status_names[span.status.status_code],
        "StatusMessage": span.status.description or "",
        "Events.Timestamp": [e.timestamp for e in span.events],
        "Events.Name": [e.name for e in span.events],
        "Events.Attributes": [strings(e.attributes) for e in span.events],
        "Links.TraceId": [f"{link.context.trace_id:032x}" for link in span.links],
        "Links.SpanId": [f"{link.context.span_id:016x}" for link in span.links],
        "Links.TraceState": [link.context.trace_state.to_header() for link in span.links],
        "Links.Attributes": [strings(link.attributes) for link in span.links],
    }


def test_sdk_rows_match_the_collector_encoding() -> None:
    spans = make_spans(seed=11, count=400)
    rows = from_sdk_spans(spans).rows()
    assert [list(row) for row in rows[:1]] == [list(COLUMNS)]
    assert rows == [expected_row(span) for span in spans]
    kinds = {row["SpanKind"] for row in rows}
    assert {"Server", "Client", "Internal", "Producer", "Consumer"} <= kinds
    assert {"Unset", "Ok", "Error"} == {row["StatusCode"] for row in rows}
    assert any(row["Events.Name"] for row in rows) and any(row["Links.TraceId"] for row in rows)
    assert any(row["ParentSpanId"] for row in rows) and any(not row["ParentSpanId"] for row in rows)


def test_otlp_protobuf_path_gives_identical_rows() -> None:
    spans = make_spans(seed=12, count=400)
    sdk_rows = by_span_id(from_sdk_spans(spans).rows())
    block, accepted, rejected, message = from_otlp(encode_spans(spans))
    otlp_rows = by_span_id(block.rows())
    assert (accepted, rejected, message) == (400, 0, "")
    # The SDK's OTLP encoder drops link trace state (opentelemetry-python _encode_links); all else is equal.
    for row in sdk_rows + otlp_rows:
        row.pop("Links.TraceState")
    assert otlp_rows == sdk_rows


def test_otlp_link_trace_state_bytes_and_maps_are_kept() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    span = scope_spans.spans.add(
        trace_id=bytes(range(1, 17)),
        span_id=bytes(range(1, 9)),
        name="x",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=5,
        end_time_unix_nano=3,
    )
    span.links.add(trace_id=bytes(16), span_id=bytes(range(8)), trace_state="a=b")
    span.attributes.add(key="raw").value.bytes_value = b"\x00\xff"
    kv = span.attributes.add(key="map").value.kvlist_value.values.add(key="n")
    kv.value.double_value = 3.0
    row = from_otlp(request)[0].rows()[0]
    assert row["Links.TraceState"] == ["a=b"] and row["Links.TraceId"] == [""]
    assert row["SpanAttributes"] == {"raw": base64.b64encode(b"\x00\xff").decode(), "map": '{"n":3}'}
    assert row["Duration"] == 0 and row["ServiceName"] == "" and row["SpanKind"] == "Server"


def test_invalid_ids_are_rejected_and_counted() -> None:
    spans = make_spans(seed=13, count=10)
    request = encode_spans(spans)
    bad = request.resource_spans[0].scope_spans[0].spans
    bad[0].trace_id = b"\x01\x02\x03"
    bad[1].span_id = bytes(8)
    block, accepted, rejected, message = from_otlp(request)
    assert (len(block), accepted, rejected) == (8, 8, 2)
    assert "2 spans rejected" in message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (0, "0"),
        (-7, "-7"),
        (2.0, "2"),
        (0.1, "0.1"),
        (1e21, "1000000000000000000000"),
        (1.5e-7, "0.00000015"),
        (float("nan"), "NaN"),
        ("x", "x"),
        (("a", "b"), '["a","b"]'),
        ((1, 2), "[1,2]"),
        ((True,), "[true]"),
        ((1.0, 2.5), "[1,2.5]"),
        ({"k": [1, "x"]}, '{"k":[1,"x"]}'),
        (b"\x01", "AQ=="),
    ],
)
def test_attribute_values_are_stringified_like_pdata(value: object, text: str) -> None:
    assert attribute_string(value) == text
