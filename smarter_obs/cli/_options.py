"""Shared click option types and decorators; options backed by a setting come from the settings registry."""

from __future__ import annotations

from typing import Any

import click

from smarter_obs import settings
from smarter_obs.settings import parse_duration

__all__ = [
    "DURATION",
    "HttpUrl",
    "SettingOption",
    "SettingType",
    "clickhouse_option",
    "parse_duration",
    "postgres_option",
    "setting_option",
]


class SettingType(click.ParamType):
    """A click type parsing with a settings type (a bad value is a usage error naming the option)."""

    def __init__(self, kind: settings.Type[Any]) -> None:
        self.kind = kind
        self.name = kind.name

    def convert(self, value, param, ctx):
        if not isinstance(value, str):  # a default given as a value, e.g. 15.0 for a duration
            value = str(value)
        try:
            return self.kind.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


#: A duration option (``15s``, ``2m``): seconds as a float, always more than zero.
DURATION = SettingType(settings.duration)
# Text-like types need no conversion; words are split by click itself for repeatable options.
_UNCONVERTED = (settings.text, settings.path, settings.words)


class SettingOption(click.Option):
    """An option whose environment variables are read like every setting: blank counts as unset."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        names = [self.envvar] if isinstance(self.envvar, str) else list(self.envvar or ())
        for name in names:
            value = settings.env(name)
            if value is not None:
                return value
        return None


def setting_option(setting: settings.Setting[Any], *decls: str, help_extra: str = "", **kwargs: Any):
    """A click option for ``setting``: its variables as ``envvar=``, help text and metavar from the registry.

    The value stays ``None`` when neither the option nor a variable is given (the library then applies the
    setting's default) unless ``default=`` is passed. ``help=`` replaces the setting's sentence,
    ``help_extra`` adds to it; the ``[default: …; env: …]`` tail is always generated.
    """
    kwargs["help"] = setting.help_text(kwargs.pop("help", None), help_extra)
    kwargs.setdefault("metavar", setting.metavar)
    if setting.type not in _UNCONVERTED:
        kwargs.setdefault("type", SettingType(setting.type))
    return click.option(*decls, cls=SettingOption, envvar=list(setting.env_vars), **kwargs)


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


clickhouse_option = setting_option(settings.CLICKHOUSE_URL, "--clickhouse", "clickhouse_url")
postgres_option = setting_option(settings.POSTGRES_DSN, "--postgres", "postgres_dsn")
