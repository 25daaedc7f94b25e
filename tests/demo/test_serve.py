"""``smarter-obs serve``: the spans receiver and the collectors in one process, health, clean SIGTERM.

serve runs as a child process with its own embedded ClickHouse (chDB admits one process per data
directory), against librdkafka's mock cluster and the n8n simulator run by the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from smarter_obs.cli import cli
from smarter_obs.demo.kafka_cluster import MockCluster
from smarter_obs.demo.kafka_traffic import GROUPS, KafkaTraffic, create_topics
from smarter_obs.demo.n8n_api import API_KEY, N8nSimulator


def _health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict]:
    ready = tmp_path / "ready.json"
    command = [
        sys.executable, "-m", "smarter_obs", "serve",
        "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--ready-file", str(ready),
        "--clickhouse", f"chdb://{tmp_path / 'ch'}", *args,
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "serve did not start within 60 s"
        time.sleep(0.1)
    return process, json.loads(ready.read_text())


def _wait(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_help_names_every_part() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in (
        "--listen",
        "--health",
        "--kafka-bootstrap",
        "--n8n-url",
        "--clickhouse",
        "--shutdown-timeout",
    ):
        assert option in result.output


def test_receiver_and_collectors_run_together_and_stop_cleanly(tmp_path: Path, postgres_dsn: str) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from smarter_obs.sinks.postgres import connect

    now = time.time()
    with MockCluster(3) as cluster, N8nSimulator.generate(executions=120, start=now - 86400, end=now) as n8n:
        create_topics(cluster)
        traffic = KafkaTraffic(cluster.bootstrap, seed=1)
        traffic.step(now, 600)
        groups = [arg for g in GROUPS for arg in ("--kafka-group", g.name)]
        process, urls = _start(
            tmp_path,
            "--kafka-bootstrap", cluster.bootstrap, "--kafka-interval", "500ms", *groups,
            "--n8n-url", n8n.url, "--n8n-interval", "1s", "--postgres", postgres_dsn,
            env={"N8N_API_KEY": API_KEY},
        )  # fmt: skip
        try:
            provider = TracerProvider()
            provider.add_span_processor(
                SimpleSpanProcessor(OTLPSpanExporter(endpoint=urls["otlp_url"] + "/v1/traces"))
            )
            tracer = provider.get_tracer("test")
            for i in range(25):
                with tracer.start_as_current_span(f"tools/call tool_{i % 3}"):
                    pass
            provider.shutdown()

            def collected():
                status, body = _health(urls["health_url"])
                parts = body["components"]
                done = parts["kafka_lag"]["cycles"] >= 2 and parts["n8n"]["cycles"] >= 1
                return (status, body) if done and parts["spans"]["written_spans"] >= 25 else None

            status, body = _wait(collected)
            assert status == 200 and body["status"] == "ok"
            assert body["components"]["kafka_lag"]["status"] == "ok"
            assert body["components"]["n8n"]["status"] == "ok"
        finally:
            process.send_signal(signal.SIGTERM)
            output = process.communicate(timeout=30)[0]
            traffic.close()
        assert process.returncode == 0, output
        assert "stopped: 25 spans written, 0 not written" in output
        with connect(postgres_dsn) as conn:
            copied = conn.execute("SELECT count(*) FROM n8n_executions").fetchone()[0]
        assert copied == len(n8n.executions)
    counts = subprocess.run(
        [
            sys.executable,
            "-m",
            "smarter_obs.demo.steps",
            "store-counts",
            "--clickhouse",
            f"chdb://{tmp_path / 'ch'}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stored = json.loads(counts.stdout)
    assert stored["spans"] == 25
    assert stored["consumer_groups"] == len(GROUPS) and stored["lag_rows"] > 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_is_503_while_a_collector_fails(tmp_path: Path, postgres_dsn: str) -> None:
    process, urls = _start(
        tmp_path,
        "--n8n-url", f"http://127.0.0.1:{_closed_port()}", "--n8n-interval", "500ms",
        "--postgres", postgres_dsn,
        env={"N8N_API_KEY": "key"},
    )  # fmt: skip
    try:
        status, body = _wait(
            lambda: (r := _health(urls["health_url"]))[1]["components"]["n8n"]["cycles"] and r
        )
        assert status == 503 and body["status"] == "degraded"
        assert body["components"]["n8n"]["status"] == "failing"
        assert "127.0.0.1" in body["components"]["n8n"]["last_message"]
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "Traceback" not in output


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999"])
def test_a_bad_address_is_a_usage_error(listen: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--listen", listen])
    assert result.exit_code == 2
    assert "HOST:PORT" in result.output
