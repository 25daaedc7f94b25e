"""`smarter-obs demo` (what `make demo` runs) end to end on the embedded stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from smarter_obs._demo import TOPICS
from smarter_obs.cli import cli
from tests.tracing.otlp_receiver import closed_port_url


def test_demo_prints_the_numbers_it_produced(
    chdb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_URL", chdb_url)
    monkeypatch.setenv("SMARTER_OBS_HOME", str(tmp_path))
    monkeypatch.delenv("SMARTER_OBS_CLICKHOUSE_DATABASE", raising=False)
    result = CliRunner().invoke(cli, ["demo", "--calls", "40"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()

    tools = {}
    start = lines.index(next(line for line in lines if line.strip().startswith("tool ")))
    for line in lines[start + 1 : start + 4]:
        name, calls, errors, _p95 = line.split()
        tools[name] = (int(calls), int(errors))
    assert sum(calls for calls, _ in tools.values()) == 40
    assert tools["send_whatsapp"][1] == 0 and tools["stock_level"][1] == 0
    assert 0 < tools["lookup_order"][1] < tools["lookup_order"][0]

    for topic, produced in TOPICS.items():
        line = next(line for line in lines if line.strip().startswith(topic) and "lag" not in line)
        assert int(line.split()[1]) == produced // 2  # half produced after the first cycle
        lag_line = next(line for line in lines if line.strip().startswith(topic) and "lag" in line)
        assert lag_line.rstrip().endswith("4/4")
    assert (tmp_path / "postgres").is_dir()  # the embedded PostgreSQL was migrated too


def test_demo_never_prints_the_clickhouse_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = closed_port_url().replace("http://", "http://alice:s3cr3t@") + "/otel"
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_URL", url)
    monkeypatch.setenv("SMARTER_OBS_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["demo", "--calls", "1"])
    assert result.exit_code == 1  # nothing listens there
    assert "alice:***@127.0.0.1" in result.output
    assert "s3cr3t" not in result.output + str(result.exception)
