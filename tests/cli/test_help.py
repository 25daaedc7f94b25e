"""Every command and option documents itself (`-h` works everywhere)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from smarter_obs.cli import cli


def _walk(command: click.Command, path: list[str]):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), [*path, name])


def test_every_command_and_option_has_help() -> None:
    runner = CliRunner()
    seen = []
    for path, command in _walk(cli, []):
        result = runner.invoke(cli, [*path, "-h"])
        assert result.exit_code == 0, (path, result.output)
        assert (command.help or "").strip(), f"`smarter-obs {' '.join(path)}` has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version"):
                assert (param.help or "").strip(), (
                    f"`smarter-obs {' '.join(path)}` option {param.opts} has no help"
                )
        seen.append(" ".join(path))
    assert {"db migrate", "collect spans", "collect redpanda", "collect n8n", "demo"} <= set(seen)
