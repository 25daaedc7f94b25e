"""``smarter-obs db migrate`` and ``smarter-obs collect spans`` as processes.

Migrate twice, receive, flush on SIGTERM; the options and the last line.
"""

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
        request = encode_spans(make_spans(seed=41, count=500))
        body = request.SerializeToString()
        # the second delivery has a span from the year 2302: rejected alone, the rest written
        request.resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano = 10_445_000_000 * 10**9
        for data in (body, request.SerializeToString()):
            response = requests.post(
                f"{endpoint}/v1/traces",
                data=data,
                timeout=10,
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert response.status_code == 200
        assert requests.get(f"{endpoint}/health", timeout=5).json()["pending_spans"] == 999
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=30)[1]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "stopped: 999 spans written, 0 not written, 1 rejected as invalid" in rest

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
    assert count == ["999", "500"]  # sent twice: the store keeps both deliveries, as the Collector does


def test_the_last_line_says_what_became_of_every_span() -> None:
    from smarter_obs.collectors.spans.cli import _final_line

    health = {"written_spans": 7, "pending_spans": 2, "rejected_spans": 0}
    assert _final_line({**health, "store_rejected_spans": 0, "failed_spans": 0}) == (
        "stopped: 7 spans written, 2 not written"
    )
    assert _final_line({**health, "store_rejected_spans": 3, "failed_spans": 1}) == (
        "stopped: 7 spans written, 2 not written, 3 refused by ClickHouse, 1 lost to an error in smarter-obs "
        "(see the log)"
    )


def test_limits_are_options_with_their_defaults_in_help() -> None:
    text = " ".join(smarter_obs("collect", "spans", "--help").stdout.split())  # help wraps lines anywhere
    for option, default in [
        ("--max-body", "32MiB"),
        ("--max-inflated", "64MiB"),
        ("--max-inflight", "128MiB"),
        ("--max-connections", "128"),
        ("--read-timeout", "10s"),
    ]:
        assert re.search(rf"{option} [^[]*\[default: {default}[;\]]", text), option
    bad = smarter_obs("collect", "spans", "--max-inflight", "lots")
    assert bad.returncode == 2 and "is not a size" in bad.stderr


def test_bad_url_is_one_error_line() -> None:
    result = smarter_obs("collect", "spans", "--clickhouse", "ftp://example.com/db")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: ClickHouse URL") and "scheme 'ftp'" in result.stderr


def test_bad_listen_address_is_a_usage_error() -> None:
    result = smarter_obs("collect", "spans", "--listen", "localhost")
    assert result.returncode == 2 and "HOST:PORT" in result.stderr
