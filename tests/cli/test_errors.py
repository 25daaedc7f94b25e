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
