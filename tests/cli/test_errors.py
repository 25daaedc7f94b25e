"""Bad input and unusable directories end with one line naming what to fix, never a traceback."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.clirun import REPO, error_line, smarter_obs

NOBODY = 65534


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ro"
    path.mkdir()
    path.chmod(0o555)
    yield path
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("where", "reason"), [("/proc/ch", "No such file or directory"), ("file/sub", "Not a directory")]
)
def test_chdb_directory_that_cannot_be_created(tmp_path: Path, where: str, reason: str) -> None:
    (tmp_path / "file").write_text("")
    path = where if where.startswith("/") else str(tmp_path / where)
    line = error_line(smarter_obs("db", "migrate", "--clickhouse", f"chdb://{path}"))
    assert f"cannot create the embedded ClickHouse directory {path}" in line and reason in line
    assert "--clickhouse" in line


COMMANDS = {
    "db migrate": ["db", "migrate"],
    "collect spans": ["collect", "spans", "--listen", "127.0.0.1:0"],
    "collect spans --no-migrate": ["collect", "spans", "--listen", "127.0.0.1:0", "--no-migrate"],
    "collect redpanda": ["collect", "redpanda", "--bootstrap", "127.0.0.1:1"],
    "collect redpanda --once": ["collect", "redpanda", "--bootstrap", "127.0.0.1:1", "--once"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("inside", [True, False], ids=["new-dir-in-read-only", "read-only-dir"])
def test_chdb_directory_the_user_cannot_write_fails_at_start(
    read_only_dir: Path, command: str, inside: bool
) -> None:
    path = read_only_dir / "ch" if inside else read_only_dir
    result = smarter_obs(
        *COMMANDS[command], "--clickhouse", f"chdb://{path}", unprivileged=True, timeout=30
    )  # a collector that does not fail at start runs until the timeout
    line = error_line(result)
    assert "permission denied" in line.lower() and str(path) in line


def test_default_store_in_a_directory_the_user_cannot_write(read_only_dir: Path) -> None:
    env = {"SMARTER_OBS_HOME": "", "SMARTER_OBS_CLICKHOUSE_URL": ""}
    result = smarter_obs("db", "migrate", cwd=read_only_dir, env=env, unprivileged=True)
    line = error_line(result)
    assert f"{read_only_dir}/.smarter-obs/clickhouse" in line and "Permission denied" in line
    assert "SMARTER_OBS_HOME" in line


def test_store_unreadable_to_the_user_says_permission_denied(tmp_path: Path) -> None:
    store = tmp_path / "theirs"
    assert smarter_obs("db", "migrate", "--clickhouse", f"chdb://{store}").returncode == 0
    for path in (store, *store.rglob("*")):  # another user's store, closed to others
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    store.chmod(0o700)
    line = error_line(smarter_obs("db", "migrate", "--clickhouse", f"chdb://{store}", unprivileged=True))
    assert f"{store}" in line and "permission denied" in line.lower()
    assert "one data directory per process" not in line


def test_store_held_by_another_process_names_that_process(tmp_path: Path) -> None:
    store = tmp_path / "ch"
    holder = subprocess.Popen(
        [sys.executable, "-m", "smarter_obs", "collect", "spans", "--listen", "127.0.0.1:0",
         "--clickhouse", f"chdb://{store}"],
        cwd=REPO, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        seen = [holder.stderr.readline()]
        while "listening on" not in seen[-1]:
            assert seen[-1], f"the holder exited: {''.join(seen)}"
            seen.append(holder.stderr.readline())
        line = error_line(smarter_obs("db", "migrate", "--clickhouse", f"chdb://{store}"))
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=30)
    assert f"{store} is in use by another process (pid {holder.pid}: " in line
    assert "collect spans" in line and "one data directory per process" not in line


@pytest.mark.parametrize(("url", "part"), [("http://127.0.0.1:99999", "port"), ("http://[::1", "IPv6")])
def test_n8n_url_with_a_bad_port_or_host_is_a_usage_error(url: str, part: str) -> None:
    line = error_line(smarter_obs("collect", "n8n", "--url", url, "--once"), code=2)
    assert "Invalid value for '--url'" in line and part in line


def test_interval_beyond_the_maximum_is_a_usage_error(tmp_path: Path) -> None:
    result = smarter_obs(
        "collect", "redpanda", "--bootstrap", "127.0.0.1:1", "--interval", "9999999h",
        "--clickhouse", f"chdb://{tmp_path / 'ch'}",
    )  # fmt: skip
    line = error_line(result, code=2)
    assert "'--interval'" in line and "at most 30d" in line


@pytest.mark.parametrize(
    ("url", "meant"), [("chdb:relative", "relative"), ("chdb://relative/dir", "relative/dir")]
)
def test_chdb_url_must_be_absolute(tmp_path: Path, url: str, meant: str) -> None:
    line = error_line(smarter_obs("db", "migrate", "--clickhouse", url, cwd=tmp_path))
    assert "must be absolute" in line and f"chdb://{tmp_path / meant}" in line
    assert not (tmp_path / "relative").exists()


@pytest.mark.parametrize("bootstrap", ["[::1", "[::1]", "[not-v6]:9092", "host name:9092"])
def test_malformed_bootstrap_address_is_rejected(tmp_path: Path, bootstrap: str) -> None:
    result = smarter_obs(
        "collect", "redpanda", "--bootstrap", bootstrap, "--once", "--clickhouse", f"chdb://{tmp_path / 'ch'}"
    )
    line = error_line(result)
    assert re.search(r"error: bootstrap server '.*' is not HOST:PORT \(e\.g\. localhost:9092\): ", line)


def test_shutdown_timeout_gives_one_count_of_spans_not_written(tmp_path: Path) -> None:
    import requests
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from tests.clickhouse.spanfactory import make_spans

    url = f"chdb://{tmp_path / 'ch'}"
    assert smarter_obs("db", "migrate", "--clickhouse", url).returncode == 0
    # Every insert into otel_traces now takes 0.5 s: the first batch is still being written at the deadline.
    _clickhouse(
        url,
        "CREATE MATERIALIZED VIEW otel.slow_insert ENGINE = Null AS SELECT sleep(0.5) FROM otel.otel_traces",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "smarter_obs", "collect", "spans", "--listen", "127.0.0.1:0",
         "--clickhouse", url, "--no-migrate", "--flush-interval", "10m", "--batch-size", "500",
         "--shutdown-timeout", "1ms"],
        cwd=REPO, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        line = process.stderr.readline()
        while "listening on" not in line:
            assert line, "the receiver exited"
            line = process.stderr.readline()
        endpoint = re.search(r"listening on (http://\S+)", line).group(1)
        for seed in (5, 6):  # two batches, queued: only the shutdown flush writes them, and it gets 1 ms
            body = encode_spans(make_spans(seed=seed, count=500)).SerializeToString()
            response = requests.post(
                f"{endpoint}/v1/traces",
                data=body,
                headers={"Content-Type": "application/x-protobuf"},
                timeout=30,
            )
            assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[1]
    finally:
        if process.poll() is None:
            process.kill()
    warned = re.findall(r"(\d+) rows not written at shutdown", rest)
    final = re.search(r"stopped: (\d+) spans written, (\d+) not written, (\d+) rejected", rest)
    assert final and warned == [final.group(2)], rest  # the warning and the last line say the same
    assert final.groups() == ("500", "500", "0") and process.returncode == 1, rest
    assert _clickhouse(url, "SELECT count() FROM otel.otel_traces") == "500"  # "written" is what is stored


def _clickhouse(url: str, sql: str) -> str:
    """Run one statement on a chDB store in a process of its own (this one may hold another store)."""
    code = (
        "import sys; from smarter_obs.sinks.clickhouse import connect; "
        "print(connect(sys.argv[1]).command(sys.argv[2]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, url, sql], cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    "command",
    [["db", "migrate", "--only", "postgres"], ["collect", "n8n", "--url", "http://127.0.0.1:1", "--once"]],
    ids=["db migrate", "collect n8n"],
)
def test_default_postgres_in_a_directory_the_user_cannot_write(
    read_only_dir: Path, command: list[str]
) -> None:
    env = {"SMARTER_OBS_HOME": "", "SMARTER_OBS_POSTGRES_DSN": "", "N8N_API_KEY": "k"}
    line = error_line(smarter_obs(*command, cwd=read_only_dir, env=env, unprivileged=True))
    assert f"{read_only_dir}/.smarter-obs/postgres: Permission denied" in line and "--postgres" in line


def test_an_unexpected_error_is_one_line_and_vv_adds_the_traceback(monkeypatch, capsys) -> None:
    from smarter_obs.cli import main
    from smarter_obs.db import clickhouse

    def broken(*_args, **_kwargs):
        raise KeyError("http://u:s3cret@h:1 went\nwrong")

    monkeypatch.setattr(clickhouse, "migrate", broken)
    saved = logging.getLogger("smarter_obs").level
    try:
        assert main(["db", "migrate", "--only", "clickhouse"]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "s3cret" not in err
        assert err.splitlines()[-1].startswith("error: unexpected KeyError: ") and "report" in err
        assert main(["-vv", "db", "migrate", "--only", "clickhouse"]) == 1
        assert "Traceback" in capsys.readouterr().err
    finally:
        logging.getLogger("smarter_obs").setLevel(saved)  # -vv set it to DEBUG
