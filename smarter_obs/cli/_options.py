"""Shared click option types and decorators."""

from __future__ import annotations

import re

import click

from smarter_obs import settings

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
#: The longest duration any option takes: beyond it waits overflow the platform's timers (and a lag
#: collector's look-back, 240 intervals, its UInt32 seconds), long before anyone means such a value.
MAX_DURATION = 30 * 86400.0


def parse_duration(text: str) -> float:
    """``15s``, ``500ms``, ``2m``, ``1h``, ``1d`` or a bare number of seconds → seconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration; use e.g. 500ms, 15s, 2m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2)]


class Duration(click.ParamType):
    """A duration option (``15s``, ``2m``); the value is seconds as a float, more than zero and at most
    :data:`MAX_DURATION`."""

    name = "duration"

    def convert(self, value, param, ctx):
        try:
            seconds = float(value) if isinstance(value, (int, float)) else parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:  # a zero interval would spin the loop, a zero timeout fail every call
            self.fail(f"{value!r} must be more than zero, e.g. 500ms or 15s", param, ctx)
        if not seconds <= MAX_DURATION:
            self.fail(f"{value!r} is too long: at most 30d", param, ctx)
        return seconds


DURATION = Duration()


class HttpUrl(click.ParamType):
    """An http(s) URL checked when the command line is read: scheme, host, port, IPv6 brackets."""

    name = "url"

    def __init__(self, example: str = "https://host.example.com") -> None:
        self.example = example

    def convert(self, value, param, ctx):
        from smarter_obs.addresses import parse_http_url
        from smarter_obs.errors import ConfigError

        try:
            parse_http_url(value, what="URL", example=self.example)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)
        return value.strip()


clickhouse_option = click.option(
    "--clickhouse",
    "clickhouse_url",
    envvar=settings.SMARTER_OBS_CLICKHOUSE_URL,
    metavar="URL",
    help="ClickHouse URL: chdb:///path (embedded) or http(s)://user:pass@host:8123/db. "
    f"Default: embedded chDB under .smarter-obs/. [env: {settings.SMARTER_OBS_CLICKHOUSE_URL}]",
)

postgres_option = click.option(
    "--postgres",
    "postgres_dsn",
    envvar=settings.SMARTER_OBS_POSTGRES_DSN,
    metavar="DSN",
    help="PostgreSQL/Supabase connection string. Default: embedded PostgreSQL (pgserver) under .smarter-obs/. "
    f"[env: {settings.SMARTER_OBS_POSTGRES_DSN}]",
)
