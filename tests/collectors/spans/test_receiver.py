"""The OTLP/HTTP receiver: real OTLP sender in another process, JSON/gzip, spec status codes, filter."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from smarter_obs.collectors.spans.server import SpanReceiver
from smarter_obs.sinks.clickhouse import ClickHouseSink
from tests.clickhouse.spanfactory import make_spans
from tests.clickhouse.test_exporter import stored_rows
from tests.clickhouse.test_mapping import by_span_id
from tests.clickhouse.test_sink import closed_port

REPO = Path(__file__).resolve().parents[3]
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def receiver(clickhouse, chdb_url: str, clickhouse_database: str):
    sink = ClickHouseSink(chdb_url, database=clickhouse_database)
    with SpanReceiver(sink, port=0, flush_interval=0.05) as running:
        yield running


def send_from_other_process(url: str, seed: int, count: int, compression: str) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.collectors.spans.sender",
            f"{url}/v1/traces",
            str(seed),
            str(count),
            compression,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def without_link_state(rows: list[dict]) -> list[dict]:
    # opentelemetry-python's OTLP encoder does not send link trace state (see test_mapping)
    return [{k: v for k, v in row.items() if k != "Links.TraceState"} for row in rows]


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_spans_from_a_real_otlp_exporter_arrive(receiver: SpanReceiver, clickhouse, compression: str) -> None:
    sent = send_from_other_process(receiver.url, seed=31, count=1200, compression=compression)
    assert sent["results"] and set(sent["results"]) == {"SUCCESS"}
    assert receiver.batcher.flush(10)
    assert without_link_state(stored_rows(clickhouse)) == without_link_state(by_span_id(sent["rows"]))


def otlp_json(spans) -> dict:
    """OTLP/JSON as the specification writes it: hex ids, integer enums, int64 as strings."""
    document = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for holder in [span, *span.get("links", [])]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in holder:
                            holder[key] = __import__("base64").b64decode(holder[key]).hex()
    return document


def test_json_and_gzip_bodies_give_the_same_rows_as_protobuf(receiver: SpanReceiver, clickhouse) -> None:
    spans = make_spans(seed=32, count=300)
    body = gzip.compress(json.dumps(otlp_json(spans)).encode())
    response = requests.post(
        f"{receiver.url}/v1/traces",
        data=body,
        timeout=10,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {}
    assert receiver.batcher.flush(10)
    from smarter_obs.collectors.spans.rows import from_otlp

    expected = by_span_id(from_otlp(encode_spans(spans))[0].rows())
    assert stored_rows(clickhouse) == expected


def test_partial_success_reports_rejected_spans(receiver: SpanReceiver, clickhouse) -> None:
    request = encode_spans(make_spans(seed=33, count=20))
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x01" * 5
    response = requests.post(
        f"{receiver.url}/v1/traces", data=request.SerializeToString(), headers=PROTOBUF, timeout=10
    )
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "trace id" in answer.partial_success.error_message
    assert receiver.batcher.flush(10)
    assert clickhouse.command("SELECT count() FROM otel_traces") == 19


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (PROTOBUF, b"\xff\xff\xff not protobuf", 400),
        ({"Content-Type": "application/json"}, b"{not json", 400),
        (
            {"Content-Type": "application/json"},
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}',
            400,
        ),
        ({"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, b"not gzip", 400),
        ({"Content-Type": "text/plain"}, b"hello", 415),
    ],
)
def test_undecodable_requests_get_client_errors(receiver: SpanReceiver, headers, body, status) -> None:
    response = requests.post(f"{receiver.url}/v1/traces", data=body, headers=headers, timeout=10)
    assert response.status_code == status
    if headers["Content-Type"] == "application/json":
        assert response.headers["Content-Type"] == "application/json" and response.json()["message"]
    elif status == 400:
        assert Status.FromString(response.content).message


def test_clickhouse_down_queues_then_answers_503_with_retry_after(chdb_url: str) -> None:
    sink = ClickHouseSink(f"http://user:pw@127.0.0.1:{closed_port()}/otel", timeout=0.5)
    body = encode_spans(make_spans(seed=34, count=300)).SerializeToString()
    with SpanReceiver(sink, port=0, batch_size=100, max_pending=1000, flush_interval=0.05) as receiver:
        codes = [
            requests.post(f"{receiver.url}/v1/traces", data=body, headers=PROTOBUF, timeout=10)
            for _ in range(5)
        ]
        assert [r.status_code for r in codes] == [200, 200, 200, 503, 503]
        assert int(codes[-1].headers["Retry-After"]) >= 1
        assert Status.FromString(codes[-1].content).code == 14  # UNAVAILABLE
        health = requests.get(f"{receiver.url}/health", timeout=5).json()
        assert health["pending_spans"] == 900 <= health["max_pending_spans"]
        assert health["refused_spans"] == 600
        receiver.batcher.flush(2)
        assert requests.get(f"{receiver.url}/health", timeout=5).json()["store"] == "down"
        assert requests.get(f"{receiver.url}/ready", timeout=5).status_code == 503


def test_only_tools_keeps_mcp_and_tool_spans(clickhouse, chdb_url: str, clickhouse_database: str) -> None:
    spans = make_spans(seed=35, count=400)
    sink = ClickHouseSink(chdb_url, database=clickhouse_database)
    with SpanReceiver(sink, port=0, only_tools=True, flush_interval=0.05) as receiver:
        response = requests.post(
            f"{receiver.url}/v1/traces",
            data=encode_spans(spans).SerializeToString(),
            headers=PROTOBUF,
            timeout=10,
        )
        assert response.status_code == 200
        assert ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 0
        assert receiver.batcher.flush(10)
    names = {row[0] for row in clickhouse.query("SELECT DISTINCT SpanName FROM otel_traces").result_rows}
    expected = {s.name for s in spans if "mcp.method.name" in s.attributes}
    assert names == expected and "checkout" not in names
    assert clickhouse.command("SELECT count() FROM otel_traces") == sum(
        1 for s in spans if "mcp.method.name" in s.attributes
    )


def test_health_and_unknown_paths(receiver: SpanReceiver) -> None:
    health = requests.get(f"{receiver.url}/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert requests.get(f"{receiver.url}/ready", timeout=5).status_code == 200
    assert requests.post(f"{receiver.url}/v1/logs", data=b"", headers=PROTOBUF, timeout=5).status_code == 404
