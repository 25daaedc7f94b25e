"""The CLI root: version, help, exit codes, shared option types."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from smarter_obs import __version__
from smarter_obs.cli import cli, main
from smarter_obs.cli._options import parse_duration


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_help_lists_command_families() -> None:
    result = CliRunner().invoke(cli, ["-h"])
    assert result.exit_code == 0
    assert "collect" in result.output and "db" in result.output


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_python_m_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "smarter_obs", "--help"], capture_output=True, text=True, check=True
    )
    assert "Usage:" in out.stdout


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15s", 15.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), ("1d", 86400.0), ("7", 7.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_names_the_option() -> None:
    from smarter_obs.cli._options import DURATION

    @click.command()
    @click.option("--interval", type=DURATION)
    def cmd(interval: float) -> None:
        click.echo(interval)

    result = CliRunner().invoke(cmd, ["--interval", "soon"])
    assert result.exit_code == 2 and "--interval" in result.output and "15s" in result.output
    result = CliRunner().invoke(cmd, ["--interval", "0s"])
    assert result.exit_code == 2 and "more than zero" in result.output
    for too_long in ("31d", "9999999h", "1" + "0" * 400):  # threading's timers overflow long before
        result = CliRunner().invoke(cmd, ["--interval", too_long])
        assert result.exit_code == 2 and "at most 30d" in result.output
    assert CliRunner().invoke(cmd, ["--interval", "30d"]).output == "2592000.0\n"
