"""``smarter-obs collect n8n`` as a user runs it: exit codes, messages, key handling."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from smarter_obs.cli import main
from tests.collectors.n8n.fake_n8n import FakeN8n, Fault
from tests.collectors.n8n.helpers import count, stored


def test_once_collects_into_the_given_database(
    fake: FakeN8n, pg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("N8N_API_KEY", fake.api_key)

    code = main(["collect", "n8n", "--url", fake.url, "--postgres", pg, "--once"])

    assert code == 0
    instance = fake.url.removeprefix("http://")  # default instance name: host:port of the URL
    assert stored(pg, instance) == fake.expected_rows(instance)
    err = capsys.readouterr().err
    assert f"n8n {instance}:" in err and "rows changed" in err
    assert fake.api_key not in err


def test_key_from_a_file_and_a_custom_variable_name(
    fake: FakeN8n, pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("N8N_API_KEY", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text(fake.api_key + "\n")
    assert (
        main(
            [
                "collect",
                "n8n",
                "--url",
                fake.url,
                "--postgres",
                pg,
                "--once",
                "--instance",
                "a",
                "--api-key-file",
                str(key_file),
            ]
        )
        == 0
    )
    monkeypatch.setenv("TENANT_B_KEY", fake.api_key)
    assert (
        main(
            [
                "collect",
                "n8n",
                "--url",
                fake.url,
                "--postgres",
                pg,
                "--once",
                "--instance",
                "b",
                "--api-key-env",
                "TENANT_B_KEY",
            ]
        )
        == 0
    )
    assert count(pg, "SELECT count(DISTINCT instance) FROM n8n_executions") == 2


def test_missing_key_names_the_variable(
    fake: FakeN8n, pg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("N8N_API_KEY", raising=False)

    assert main(["collect", "n8n", "--url", fake.url, "--postgres", pg, "--once"]) == 1
    assert "set N8N_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("once", [True, False])
def test_rejected_key_stops_the_collector_with_a_clear_message(
    fake: FakeN8n, pg: str, once: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("N8N_API_KEY", "n8n_api_revoked_key")
    args = ["collect", "n8n", "--url", fake.url, "--postgres", pg] + (
        ["--once"] if once else ["--interval", "10ms"]
    )

    code = main(args)  # without --once too: a bad key is not retried forever

    err = capsys.readouterr().err
    assert code == 1
    assert "error: n8n at" in err and "401" in err and "set N8N_API_KEY" in err
    assert "n8n_api_revoked_key" not in err
    assert len([r for r in fake.requests if r.startswith("/api/v1/workflows")]) == 1


def test_without_a_dsn_it_writes_to_the_embedded_postgres(
    fake: FakeN8n, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smarter_obs.sinks.postgres import embedded_dsn

    monkeypatch.setenv("N8N_API_KEY", fake.api_key)
    monkeypatch.setenv("SMARTER_OBS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SMARTER_OBS_POSTGRES_DSN", raising=False)
    monkeypatch.delenv("SUPABASE_DB_URL", raising=False)

    assert main(["collect", "n8n", "--url", fake.url, "--once", "--instance", "embedded"]) == 0

    assert "embedded PostgreSQL" in capsys.readouterr().err
    assert (tmp_path / "home" / "postgres" / "pgdata").exists()
    assert stored(embedded_dsn(), "embedded") == fake.expected_rows("embedded")


def test_long_running_collector_survives_a_failing_cycle(
    fake: FakeN8n, pg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("N8N_API_KEY", fake.api_key)
    fake.faults.append(Fault("malformed"))  # the first cycle fails on page 1
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    stopper = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGTERM))
    stopper.start()
    try:
        code = main(["collect", "n8n", "--url", fake.url, "--postgres", pg, "--interval", "200ms"])
    finally:
        stopper.cancel()
        for sig, handler in saved.items():  # the collector installed its own handlers
            signal.signal(sig, handler)

    err = capsys.readouterr().err
    assert code == 0  # SIGTERM: finished the cycle and stopped cleanly
    assert "cycle failed, retrying" in err and "not valid JSON" in err
    assert stored(pg, fake.url.removeprefix("http://")) == fake.expected_rows(
        fake.url.removeprefix("http://")
    )


def test_rejected_key_from_a_file_names_the_file(
    fake: FakeN8n, pg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "n8n.key"
    key_file.write_text("n8n_api_old_key")

    assert (
        main(
            ["collect", "n8n", "--url", fake.url, "--postgres", pg, "--once", "--api-key-file", str(key_file)]
        )
        == 1
    )

    err = capsys.readouterr().err
    assert f"--api-key-file {key_file} with 401" in err and f"in {key_file}" in err
    assert "n8n_api_old_key" not in err


def test_sigterm_during_a_retry_backoff_stops_without_waiting_it_out(
    fake: FakeN8n, pg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    monkeypatch.setenv("N8N_API_KEY", fake.api_key)
    fake.faults.append(Fault("status", code=429, retry_after="100", path="/api/v1/workflows", times=10))
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    stopper = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    started = time.monotonic()
    stopper.start()
    try:
        code = main(["collect", "n8n", "--url", fake.url, "--postgres", pg, "--interval", "1m"])
    finally:
        stopper.cancel()
        for sig, handler in saved.items():
            signal.signal(sig, handler)

    assert code == 0
    assert time.monotonic() - started < 20  # n8n asked for a 100 s pause; SIGTERM cut it short
    assert fake.faults[0].applied == 1  # no further request after the signal
    assert "429" in capsys.readouterr().err
