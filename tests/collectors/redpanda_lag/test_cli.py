"""``smarter-obs collect redpanda`` as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from smarter_obs.cli import main

REPO = Path(__file__).resolve().parents[3]


def dead_address() -> str:
    """host:port where nothing listens (a port bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_once_against_a_dead_cluster_exits_nonzero_within_the_timeout_naming_the_servers(
    clickhouse, chdb_url, capsys
) -> None:
    servers = f"{dead_address()},{dead_address()}"
    started = time.monotonic()
    code = main(
        [
            "collect",
            "redpanda",
            "--bootstrap",
            servers,
            "--clickhouse",
            chdb_url,
            "--database",
            clickhouse.database,
            "--once",
            "--timeout",
            "2s",
            "--group",
            "billing",
        ]
    )
    elapsed = time.monotonic() - started
    assert code == 1
    err = capsys.readouterr().err
    assert f"error: cannot reach Kafka bootstrap servers {servers}" in err
    assert elapsed < 2 + 5  # the request timeout plus start-up, not librdkafka's default minute
    assert list(clickhouse.query("SELECT ok, bootstrap FROM kafka_collector_cycles").result_rows) == [
        (False, servers)
    ]


def test_once_collects_named_groups_and_exits_zero(mock_cluster, kafka, clickhouse, chdb_url, capsys) -> None:
    mock_cluster.create_topic("shopify.orders", 2, 1)
    kafka.produce("shopify.orders", {0: 5, 1: 3})
    kafka.commit("n8n.worker", {("shopify.orders", 0): 5})
    code = main(
        [
            "collect",
            "redpanda",
            "--bootstrap",
            mock_cluster.bootstrap,
            "--clickhouse",
            chdb_url,
            "--database",
            clickhouse.database,
            "--once",
            "--group",
            "n8n.worker",
            "--group",
            "audit-.*",
            "--cluster-name",
            "prod",
        ]
    )
    assert code == 0, capsys.readouterr().err
    lag = sorted(
        clickhouse.query("SELECT cluster, consumer_group, partition, lag FROM kafka_consumer_lag").result_rows
    )
    # "n8n.worker" is a name (a dot alone is no regex), collected although the mock cannot list groups
    assert lag == [("prod", "n8n.worker", 0, 0), ("prod", "n8n.worker", 1, None)]


def test_bad_input_is_named(clickhouse, chdb_url, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SMARTER_OBS_KAFKA_BOOTSTRAP", raising=False)
    assert main(["collect", "redpanda", "--clickhouse", chdb_url, "--once"]) == 1
    assert "--bootstrap" in capsys.readouterr().err
    assert main(["collect", "redpanda", "--bootstrap", "localhost", "--once"]) == 1
    assert "'localhost' is not HOST:PORT" in capsys.readouterr().err
    assert main(["collect", "redpanda", "--bootstrap", "h:9092", "--group", "a(", "--once"]) == 1
    assert "--group 'a(' is not a valid regular expression" in capsys.readouterr().err


def test_sigterm_finishes_the_cycle_and_exits_zero(mock_cluster, kafka, tmp_path: Path) -> None:
    mock_cluster.create_topic("n8n.events", 1, 1)
    kafka.produce("n8n.events", {0: 2})
    url = f"chdb://{tmp_path / 'ch'}"  # its own chDB directory: a separate process
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "smarter_obs", "db", "migrate", "--clickhouse", url],
        check=True,
        env=env,
        capture_output=True,
        timeout=60,
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smarter_obs",
            "collect",
            "redpanda",
            "--bootstrap",
            mock_cluster.bootstrap,
            "--clickhouse",
            url,
            "--interval",
            "1ms",
            "--group",
            "g",
        ],  # back-to-back cycles
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("cycle done" in line for line in seen):
            seen.append(proc.stderr.readline())  # type: ignore[union-attr]
        assert any("cycle done" in line for line in seen), "".join(seen)
        for broker in mock_cluster.broker_ids:
            mock_cluster.set_rtt(broker, 300)  # every cycle now takes over a second
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)  # lands inside a cycle: there is no wait between cycles
        _, rest = proc.communicate(timeout=20)
        assert proc.returncode == 0, rest
        after = rest[rest.index("received SIGTERM") :]
        assert "cycle done" in after  # the interrupted cycle was finished and stored before exiting
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_authentication_failure_names_the_settings_to_fix(
    mock_cluster, clickhouse, chdb_url, capsys, monkeypatch
) -> None:
    # The mock broker has no SASL: the handshake fails exactly like rejected credentials do.
    monkeypatch.setenv("SMARTER_OBS_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("SMARTER_OBS_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("SMARTER_OBS_KAFKA_SASL_USERNAME", "obs")
    monkeypatch.setenv("SMARTER_OBS_KAFKA_SASL_PASSWORD", "hunter2-secret")
    code = main(
        [
            "collect",
            "redpanda",
            "--bootstrap",
            mock_cluster.bootstrap,
            "--clickhouse",
            chdb_url,
            "--database",
            clickhouse.database,
            "--once",
            "--timeout",
            "1s",
            "--group",
            "g",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"error: authentication/TLS with Kafka bootstrap servers {mock_cluster.bootstrap} failed" in err
    assert "sasl.username" in err and "hunter2-secret" not in err


def test_store_without_the_kafka_tables_says_to_migrate(mock_cluster, kafka, chdb_url, capsys) -> None:
    mock_cluster.create_topic("n8n.events", 1, 1)
    code = main(
        [
            "collect",
            "redpanda",
            "--bootstrap",
            mock_cluster.bootstrap,
            "--clickhouse",
            chdb_url,
            "--database",
            "never_migrated",
            "--once",
            "--group",
            "g",
        ]
    )
    assert code == 1
    assert "smarter-obs db migrate" in capsys.readouterr().err


def test_rejected_kafka_property_is_named_without_showing_secrets(
    clickhouse, chdb_url, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("SMARTER_OBS_KAFKA_SASL_PASSWORD", "hunter2-secret")
    code = main(
        [
            "collect",
            "redpanda",
            "--bootstrap",
            dead_address(),
            "--clickhouse",
            chdb_url,
            "--database",
            clickhouse.database,
            "--once",
            "-X",
            "security.protocol=bogus",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert '"bogus"' in err and "security.protocol" in err
    assert "hunter2-secret" not in err
