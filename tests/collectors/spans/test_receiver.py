"""The OTLP/HTTP receiver: real OTLP sender in another process, JSON/gzip, spec status codes, filter."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
import zlib
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
    return request_json(encode_spans(spans))


def request_json(request) -> dict:
    """OTLP/JSON as the specification writes it: hex ids, integer enums, int64 as strings."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for holder in [span, *span.get("links", [])]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in holder:
                            holder[key] = base64.b64decode(holder[key]).hex()
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


@pytest.mark.parametrize("encoding", ["gzip in two members", "deflate"])
def test_other_compressed_forms_decode_to_the_same_rows(receiver: SpanReceiver, clickhouse, encoding) -> None:
    request = encode_spans(make_spans(seed=29, count=200))
    body = request.SerializeToString()
    if encoding == "deflate":
        headers, data = {**PROTOBUF, "Content-Encoding": "deflate"}, zlib.compress(body)
    else:  # gzip allows members back to back; Go's and Java's gzip writers can produce them
        half = len(body) // 2
        headers, data = (
            {**PROTOBUF, "Content-Encoding": "gzip"},
            gzip.compress(body[:half]) + gzip.compress(body[half:]),
        )
    response = requests.post(f"{receiver.url}/v1/traces", data=data, headers=headers, timeout=10)
    assert response.status_code == 200
    assert receiver.batcher.flush(10)
    assert stored_span_ids(clickhouse) == all_span_ids(request)


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
        (  # cut short: the old receiver decoded what it had
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
            gzip.compress(encode_spans(make_spans(seed=30, count=50)).SerializeToString())[:-100],
            400,
        ),
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


# -- nothing acknowledged is lost for one bad span ---------------------------------------------------------
@pytest.fixture
def slow_receiver(clickhouse, chdb_url: str, clickhouse_database: str):
    """A receiver that writes only when flushed: every request of a test lands in one batch."""
    sink = ClickHouseSink(chdb_url, database=clickhouse_database)
    with SpanReceiver(sink, port=0, flush_interval=600) as running:
        yield running


def stored_span_ids(clickhouse) -> set[str]:
    return {row[0] for row in clickhouse.query("SELECT SpanId FROM otel_traces").result_rows}


def all_span_ids(request) -> set[str]:
    return {s.span_id.hex() for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans}


def spans_of(request) -> list:
    return [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


POISONS = {
    "start 2**64-1": lambda span: setattr(span, "start_time_unix_nano", 2**64 - 1),
    "start in 2302": lambda span: setattr(span, "start_time_unix_nano", 10_445_000_000 * 10**9),
    "end 2**64-1": lambda span: setattr(span, "end_time_unix_nano", 2**64 - 1),
    "event in 2302": lambda span: setattr(span.events.add(), "time_unix_nano", 10_445_000_000 * 10**9),
}


def export(url: str, request, kind: str) -> tuple[int, int, str]:
    """POST one request as protobuf or OTLP/JSON: ``(status, rejected spans, error message)``."""
    if kind == "json":
        response = requests.post(f"{url}/v1/traces", json=request_json(request), timeout=10)
        partial = response.json().get("partialSuccess", {})
        return response.status_code, int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", "")
    body = request.SerializeToString()
    response = requests.post(f"{url}/v1/traces", data=body, headers=PROTOBUF, timeout=10)
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    return response.status_code, partial.rejected_spans, partial.error_message


@pytest.mark.parametrize("kind", ["protobuf", "json"])
def test_a_span_with_an_impossible_timestamp_is_rejected_alone(
    slow_receiver: SpanReceiver, clickhouse, kind: str
) -> None:
    """Five senders, one batch: one sends only valid spans, each of the others one poisoned span."""
    good = encode_spans(make_spans(seed=36, count=150))
    bad = [encode_spans(make_spans(seed=37 + i, count=150)) for i in range(len(POISONS))]
    poisoned = [spans_of(request)[7 + i] for i, request in enumerate(bad)]
    for poison, span in zip(POISONS.values(), poisoned, strict=True):
        poison(span)
    answers = [export(slow_receiver.url, request, kind) for request in (good, *bad)]
    assert slow_receiver.batcher.flush(20)
    expected = set().union(*map(all_span_ids, (good, *bad))) - {span.span_id.hex() for span in poisoned}
    assert stored_span_ids(clickhouse) == expected
    assert answers[0] == (200, 0, "")
    for (status, rejected, message), span in zip(answers[1:], poisoned, strict=True):
        assert (status, rejected) == (200, 1)  # OTLP partial success: the sender logs it and does not retry
        assert "2106-02-07T06:28:15Z" in message and span.span_id.hex() in message
    health = slow_receiver.health()
    assert health["rejected_spans"] == len(POISONS) and health["dropped_spans"] == 0


def test_a_row_clickhouse_rejects_is_isolated_and_the_rest_written(
    slow_receiver: SpanReceiver, clickhouse, caplog: pytest.LogCaptureFixture
) -> None:
    clickhouse.command("ALTER TABLE otel_traces ADD CONSTRAINT no_poison CHECK SpanName != 'poison'")
    requests_ = [encode_spans(make_spans(seed=38 + i, count=100)) for i in range(3)]
    poisoned = spans_of(requests_[1])[42]
    poisoned.name = "poison"
    for request in requests_:
        response = requests.post(
            f"{slow_receiver.url}/v1/traces", data=request.SerializeToString(), headers=PROTOBUF, timeout=10
        )
        assert response.status_code == 200
        assert ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 0
    with caplog.at_level("WARNING"):
        assert slow_receiver.batcher.flush(60)
    expected = set().union(*map(all_span_ids, requests_)) - {poisoned.span_id.hex()}
    assert stored_span_ids(clickhouse) == expected
    health = slow_receiver.health()
    assert (health["written_spans"], health["store_rejected_spans"], health["failed_spans"]) == (299, 1, 0)
    assert health["pending_spans"] == 0 and health["store"] == "up"
    [warning] = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert "ClickHouse rejected 1 of 300 spans" in warning and "VIOLATED_CONSTRAINT" in warning
    assert poisoned.span_id.hex() in warning


def test_a_store_that_refuses_every_write_keeps_the_spans_for_retry(
    chdb_url: str, clickhouse_database: str
) -> None:
    """A missing table (migrations not run) is not a bad row: nothing is dropped, the store is 'down'."""
    from smarter_obs.db.clickhouse import migrate
    from smarter_obs.sinks.clickhouse import connect

    sink = ClickHouseSink(chdb_url, database=clickhouse_database)
    body = encode_spans(make_spans(seed=41, count=50)).SerializeToString()
    with SpanReceiver(sink, port=0, flush_interval=600) as receiver:
        response = requests.post(f"{receiver.url}/v1/traces", data=body, headers=PROTOBUF, timeout=10)
        assert response.status_code == 200
        assert not receiver.batcher.flush(10)
        health = requests.get(f"{receiver.url}/health", timeout=5).json()
        assert (health["pending_spans"], health["dropped_spans"], health["store"]) == (50, 0, "down")
        assert requests.get(f"{receiver.url}/ready", timeout=5).status_code == 503
        migrate(chdb_url, database=clickhouse_database)
        assert receiver.batcher.flush(20)
        assert receiver.batcher.stats.written == 50
    client = connect(chdb_url)
    assert client.command(f"SELECT count() FROM {clickhouse_database}.otel_traces") == 50


def test_splitting_a_block_keeps_every_row_whole() -> None:
    """Halving a refused block, down to single rows, neither loses nor mixes up a column."""
    from smarter_obs.collectors.spans.rows import from_otlp
    from smarter_obs.collectors.spans.server import split_spans

    spans = [
        *make_spans(seed=43, count=60),
        *make_spans(seed=44, count=41, service="shop", resource={"x": 1}),
    ]
    block = from_otlp(encode_spans(spans))[0]
    assert block.events and block.links and len(block.runs) > 2

    def leaves(part):
        halves = split_spans(part)
        return [part] if halves is None else [*leaves(halves[0]), *leaves(halves[1])]

    rows = block.rows()
    singles = leaves(block)
    assert len(singles) == len(rows) == 101
    assert [single.rows()[0] for single in singles] == rows
    first, second = split_spans(block)
    assert first.rows() + second.rows() == rows
    assert first.to_arrow().num_rows + second.to_arrow().num_rows == 101
