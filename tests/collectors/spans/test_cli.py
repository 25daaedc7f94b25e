"""``smarter-obs db migrate`` and ``smarter-obs collect spans`` as processes: migrate twice, receive, flush on
SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.clickhouse.spanfactory import make_spans

REPO = Path(__file__).resolve().parents[3]


def smarter_obs(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "smarter_obs", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_migrate_then_collect_until_sigterm_flushes_everything(tmp_path: Path) -> None:
    url = f"chdb://{tmp_path / 'ch'}"
    first = smarter_obs("db", "migrate", "--clickhouse", url, "--database", "otel")
    assert first.returncode == 0, first.stderr
    assert re.search(r"clickhouse: [1-9]\d* applied, 0 already applied", first.stdout)
    again = smarter_obs("db", "migrate", "--clickhouse", url, "--database", "otel")
    assert again.returncode == 0 and re.search(
        r"clickhouse: 0 applied, [1-9]\d* already applied", again.stdout
    )

    # A long flush interval: only the SIGTERM flush can write these spans.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smarter_obs",
            "collect",
            "spans",
            "--listen",
            "127.0.0.1:0",
            "--clickhouse",
            url,
            "--database",
            "otel",
            "--flush-interval",
            "10m",
            "--no-migrate",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        endpoint = None
        lines = []
        while endpoint is None:
            line = process.stderr.readline()
            assert line, f"collector exited early: {''.join(lines)}"
            lines.append(line)
            match = re.search(r"listening on (http://\S+)", line)
            endpoint = match.group(1) if match else None
        body = encode_spans(make_spans(seed=41, count=500)).SerializeToString()
        for _ in range(2):
            response = requests.post(
                f"{endpoint}/v1/traces",
                data=body,
                timeout=10,
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert response.status_code == 200
        assert requests.get(f"{endpoint}/health", timeout=5).json()["pending_spans"] == 1000
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=30)[1]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "1000 spans written, 0 not written" in rest

    reader = (
        "import sys; from smarter_obs.sinks.clickhouse import connect; print(*connect(sys.argv[1])"
        ".query('SELECT count(), uniqExact(SpanId) FROM otel.otel_traces').result_rows[0])"
    )
    count = subprocess.run(
        [sys.executable, "-c", reader, url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert count == ["1000", "500"]  # sent twice: the store keeps both deliveries, as the Collector does


def test_bad_url_is_one_error_line() -> None:
    result = smarter_obs("collect", "spans", "--clickhouse", "ftp://example.com/db")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: ClickHouse URL") and "scheme 'ftp'" in result.stderr


def test_bad_listen_address_is_a_usage_error() -> None:
    result = smarter_obs("collect", "spans", "--listen", "localhost")
    assert result.returncode == 2 and "HOST:PORT" in result.stderr
