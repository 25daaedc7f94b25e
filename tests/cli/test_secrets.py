"""No secret reaches the terminal: passwords in URLs, DSNs and bootstrap lists, and the n8n API key."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from tests.cli.clirun import REPO, error_line, smarter_obs
from tests.collectors.n8n.fake_n8n import FakeN8n, Fault


def _n8n_answering_503(api_key: str = "n8n_api_test_key", *, times: int = 1) -> FakeN8n:
    fake = FakeN8n.generate(seed=3, executions=20, api_key=api_key)
    fake.faults.append(Fault("status", code=503, retry_after="0", path="/api/v1/workflows", times=times))
    return fake


def test_password_in_the_n8n_url_is_not_in_retry_or_error_messages(postgres_dsn: str) -> None:
    with _n8n_answering_503(times=10) as fake:  # more than the client's retries: the cycle fails
        url = fake.url.replace("http://", "http://user:s3cret@")
        result = smarter_obs(
            "collect", "n8n", "--url", url, "--postgres", postgres_dsn, "--once",
            env={"N8N_API_KEY": fake.api_key},
        )  # fmt: skip
    line = error_line(result)
    assert "retrying" in result.stderr and "still failing after 6 attempts" in line
    assert "s3cret" not in result.stderr + result.stdout
    assert "http://user:***@127.0.0.1:" in line


def test_one_character_api_key_leaves_the_retry_message_intact(postgres_dsn: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on: connection refused, retried with backoff
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "smarter_obs", "collect", "n8n", "--url", f"http://127.0.0.1:{port}",
         "--postgres", postgres_dsn, "--no-migrate", "--once"],
        cwd=REPO, env={**os.environ, "N8N_API_KEY": "k", "PYTHONUNBUFFERED": "1"},
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = [process.stderr.readline()]
        while "retrying" not in lines[-1] and lines[-1]:
            lines.append(process.stderr.readline())
        process.send_signal(signal.SIGTERM)  # no need to wait out the backoff
        lines += process.stderr.readlines()
    finally:
        process.kill()
        process.wait()
    retry = next(line for line in lines if "retrying" in line)
    assert f"port={port}): Max retries exceeded with url: /api/v1/workflows?limit=" in retry
    assert "***" not in "".join(lines)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/otel?password=s3cret", "http://127.0.0.1:1/otel?user=u&password=s3cret#x"]
)
def test_clickhouse_password_query_parameter_is_not_repeated(url: str) -> None:
    result = smarter_obs("db", "migrate", "--clickhouse", url)
    line = error_line(result)
    assert "s3cret" not in result.stderr + result.stdout
    assert "password=***" in line and "user:password@host" in line


def test_bootstrap_with_credentials_is_rejected_naming_the_sasl_settings(tmp_path) -> None:
    result = smarter_obs(
        "-vv", "collect", "redpanda", "--bootstrap", "user:s3cret@127.0.0.1:9092", "--once",
        "--clickhouse", f"chdb://{tmp_path / 'ch'}",
    )  # fmt: skip
    line = error_line(result)
    assert "s3cret" not in result.stderr + result.stdout
    assert "sasl.username" in line and "SMARTER_OBS_KAFKA_SASL_PASSWORD" in line


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://u:p@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
        ("user=u password=p host=127.0.0.1 port=1 dbname=db", "user=u password=*** host=127.0.0.1 port=1"),
    ],
)
def test_one_character_postgres_password_masks_the_field_not_the_message(dsn: str, shown: str) -> None:
    result = smarter_obs("db", "migrate", "--postgres", dsn)
    line = error_line(result)
    assert shown in line
    assert 'connection to server at "127.0.0.1", port 1 failed: Connection refused' in line
    assert "accepting TCP/IP connections" in line
    assert line.count("***") == 1
