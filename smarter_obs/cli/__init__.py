"""The ``smarter-obs`` command line. Commands are thin: parse, call the library, print.

Exit codes: 0 success, 1 failure (the message says what to do), 2 usage error.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback

import click

from smarter_obs import __version__
from smarter_obs.errors import SmarterObsError
from smarter_obs.redact import redact_text

# Subcommands are imported on first use so ``smarter-obs --help`` stays fast.
_COLLECTORS = {
    "spans": "smarter_obs.collectors.spans.cli:command",
    "redpanda": "smarter_obs.collectors.redpanda_lag.cli:command",
    "n8n": "smarter_obs.collectors.n8n.cli:command",
}


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, given as ``name → "module:attr"``."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module_name, attr = self._lazy[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="smarter-obs")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """smarter-obs: telemetry stores, collectors and dashboards for SmarterOS.

    \b
    Examples:
      smarter-obs db migrate --clickhouse chdb:///var/lib/smarter-obs/ch
      smarter-obs collect spans --listen 127.0.0.1:4318
      smarter-obs collect redpanda --bootstrap localhost:9092 --once
      smarter-obs collect n8n --url https://n8n.example.com --once
      smarter-obs validate && smarter-obs build
      smarter-obs query mcp-tools 4 --from now-7d
    """
    # Our own progress at INFO by default; third-party chatter (pgserver, drivers) only with -v.
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("smarter_obs").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


@cli.group(cls=LazyGroup, lazy=_COLLECTORS)
def collect() -> None:
    """Run a collector: source → rows → store."""


cli.add_command(importlib.import_module("smarter_obs.cli.db").db)
cli.add_command(importlib.import_module("smarter_obs.cli.demo").demo)
cli.add_command(importlib.import_module("smarter_obs.cli.serve").serve)
cli.add_command(importlib.import_module("smarter_obs.cli.preview").preview)
_dashboards = importlib.import_module("smarter_obs.cli.dashboards")
for _command in (_dashboards.validate_command, _dashboards.build_command, _dashboards.list_command,
                 _dashboards.query_command):  # fmt: skip
    cli.add_command(_command)
cli.add_command(importlib.import_module("smarter_obs.cli.publish").plan)
cli.add_command(importlib.import_module("smarter_obs.cli.publish").publish)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: errors become one readable line and exit code 1, never a traceback
    (``-vv`` adds the traceback of an unexpected one)."""
    try:
        result = cli.main(args=argv, prog_name="smarter-obs", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except SmarterObsError as exc:
        click.echo(f"error: {redact_text(str(exc))}", err=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug still ends in one line
        if logging.getLogger("smarter_obs").isEnabledFor(logging.DEBUG):
            traceback.print_exc()
        message = redact_text(" ".join(str(exc).split()))
        click.echo(
            f"error: unexpected {type(exc).__name__}: {message} (a bug in smarter-obs: please report it "
            "with the traceback that -vv prints)",
            err=True,
        )
        return 1
    return result if isinstance(result, int) else 0
