"""Every ``SMARTER_OBS_*`` setting, declared once: its environment variables, type, default and help.

One precedence rule for all of them: explicit argument (a CLI option, a function argument) > the first of
the setting's environment variables that is set (its own ``SMARTER_OBS_*`` name first, then a standard name
where one exists, e.g. ``SUPABASE_DB_URL``) > the default. An environment variable that is empty or only
whitespace counts as unset, and values are stripped (:func:`env` is the one reader; the tracing bootstrap's
``OTEL_*`` parsing uses it too). A value that does not parse raises :class:`~smarter_obs.errors.ConfigError`
naming the variable.

Adding a setting is one declaration here, e.g.::

    GRAFANA_URL = setting("SMARTER_OBS_GRAFANA_URL", "GRAFANA_URL", help="Grafana base URL.", metavar="URL")
    LAG_ALERT = setting("SMARTER_OBS_LAG_ALERT", type=integer(minimum=0), default=1000, help="Lag that …")

Read it with ``GRAFANA_URL.get(argument)``; give a command its option with
``smarter_obs.cli._options.setting_option(GRAFANA_URL, "--grafana-url")`` (``envvar=``, help text and
default are generated from the declaration). ``docs/settings.md`` holds :func:`markdown_table` (a test keeps
the two equal: regenerate with ``python -m smarter_obs.settings``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from smarter_obs.errors import ConfigError

T = TypeVar("T")

#: Prefix of the project's own variables.
PREFIX = "SMARTER_OBS_"


def env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The stripped value of environment variable ``name``; ``None`` when unset, empty or only whitespace."""
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


# --- types: a name for the docs and a parser raising ValueError with the reason ---------------------------


@dataclass(frozen=True)
class Type(Generic[T]):
    """How a setting's text becomes a value: ``parse`` raises ``ValueError`` saying what is wrong."""

    name: str
    parse: Callable[[str], T]
    show: Callable[[T], str] = str


text: Type[str] = Type("text", str)
path: Type[Path] = Type("path", Path)
#: Space-separated words (a repeatable option's values in one variable).
words: Type[tuple[str, ...]] = Type("words", lambda value: tuple(value.split()), " ".join)

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _parse_boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise ValueError("is not a boolean; use true or false")


boolean: Type[bool] = Type("boolean", _parse_boolean, lambda value: "true" if value else "false")


def _bounded(kind: type[int] | type[float], label: str, minimum: float | None) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"is not {label}") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"must be {minimum:g} or more")
        return number

    return parse


def integer(minimum: int | None = None) -> Type[int]:
    """A whole number, at least ``minimum`` when given."""
    name = "integer" if minimum is None else f"integer ≥ {minimum}"
    return Type(name, _bounded(int, "an integer", minimum))


def number(minimum: float | None = None) -> Type[float]:
    """A decimal number (thresholds, ratios), at least ``minimum`` when given."""
    name = "number" if minimum is None else f"number ≥ {minimum:g}"
    return Type(name, _bounded(float, "a number", minimum))


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
#: The longest duration a setting takes: beyond it waits overflow the platform's timers (and a lag
#: collector's look-back, 240 intervals, its UInt32 seconds), long before anyone means such a value.
MAX_DURATION = 30 * 86400.0


def parse_duration(value: str) -> float:
    """``15s``, ``500ms``, ``2m``, ``1h``, ``1d`` or a bare number of seconds → seconds."""
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration; use e.g. 500ms, 15s, 2m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _positive_duration(value: str) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:  # a zero interval would spin a loop, a zero timeout fail every call
        raise ValueError(f"{value!r} must be more than zero, e.g. 500ms or 15s")
    if not seconds <= MAX_DURATION:
        raise ValueError(f"{value!r} is too long: at most 30d")
    return seconds


#: A duration in seconds, more than zero and at most 30 days: ``500ms``, ``15s``, ``2m``, ``1h``, ``1d`` or a
#: bare number of seconds.
duration: Type[float] = Type("duration", _positive_duration, lambda seconds: f"{seconds:g}s")


# --- the setting ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: its variables (own name first), type, default and help. Declare with :func:`setting`."""

    env_vars: tuple[str, ...]
    type: Type[T]
    default: T | None
    help: str
    #: How to describe a default computed elsewhere (``None`` default), e.g. "embedded chDB under …".
    default_help: str | None = None
    metavar: str | None = None
    #: Never echo the value (passwords, tokens, DSNs with credentials) in errors.
    secret: bool = False

    @property
    def env(self) -> str:
        """The setting's own variable name, e.g. ``SMARTER_OBS_CLICKHOUSE_URL``."""
        return self.env_vars[0]

    @property
    def key(self) -> str:
        """The name without prefix, lower case, e.g. ``clickhouse_url``."""
        return self.env.removeprefix(PREFIX).lower()

    def lookup(self, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
        """``(variable, value)`` of the first variable that is set, else ``None``."""
        for name in self.env_vars:
            value = env(name, environ)
            if value is not None:
                return name, value
        return None

    def cast(self, value: str, source: str | None = None) -> T:
        """``value`` parsed by the setting's type; a ``ConfigError`` naming ``source`` (or the variable)."""
        try:
            return self.type.parse(value)
        except ValueError as exc:
            shown = "(hidden)" if self.secret else repr(value)
            reason = str(exc)
            if not self.secret and reason.startswith(repr(value)):  # parse errors that quote the value
                reason = reason[len(repr(value)) :].lstrip()
            raise ConfigError(
                f"{source or self.env}={shown} {reason}. {self.help}", setting=source or self.env
            ) from None

    def get(self, argument: T | str | None = None, *, environ: Mapping[str, str] | None = None) -> T | None:
        """argument > environment > default. A text argument is parsed like an environment value."""
        if isinstance(argument, str):
            if argument.strip():
                return self.cast(argument, self.key)
        elif argument is not None:
            return argument
        found = self.lookup(environ)
        if found is None:
            return self.default
        return self.cast(found[1], found[0])

    def describe_default(self) -> str | None:
        """The default as shown in help and docs."""
        if self.default_help is not None:
            return self.default_help
        return None if self.default is None else self.type.show(self.default)

    def help_text(self, sentence: str | None = None, extra: str = "") -> str:
        """CLI help: the help sentence (or ``sentence``), ``extra``, then ``[default: …; env: …]``."""
        default = self.describe_default()
        tail = ([f"default: {default}"] if default is not None else []) + ["env: " + ", ".join(self.env_vars)]
        body = f"{self.help if sentence is None else sentence} {extra}".strip()
        return f"{body} [{'; '.join(tail)}]"


#: Every declared setting by its own variable name, in declaration order.
REGISTRY: dict[str, Setting[Any]] = {}


def setting(
    *env_vars: str,
    type: Type[T] = text,
    default: T | None = None,
    help: str,
    default_help: str | None = None,
    metavar: str | None = None,
    secret: bool = False,
) -> Setting[T]:
    """Declare a setting (own ``SMARTER_OBS_*`` name first, then fallbacks) and add it to :data:`REGISTRY`."""
    if not env_vars or not env_vars[0].startswith(PREFIX):
        raise ValueError(f"a setting's first variable must start with {PREFIX}: {env_vars}")
    if env_vars[0] in REGISTRY:
        raise ValueError(f"setting {env_vars[0]} is declared twice")
    declared = Setting(tuple(env_vars), type, default, help, default_help, metavar, secret)
    REGISTRY[declared.env] = declared
    return declared


# --- the settings -----------------------------------------------------------------------------------------

HOME = setting(
    "SMARTER_OBS_HOME",
    type=path,
    default=Path(".smarter-obs"),
    help="Directory of the embedded stores (chDB data, pgserver cluster) and collector state.",
    metavar="DIR",
)
CLICKHOUSE_URL = setting(
    "SMARTER_OBS_CLICKHOUSE_URL",
    help="ClickHouse URL: chdb:///path (embedded) or http(s)://user:pass@host:8123/db.",
    default_help="embedded chDB under .smarter-obs/",
    metavar="URL",
    secret=True,
)
CLICKHOUSE_DATABASE = setting(
    "SMARTER_OBS_CLICKHOUSE_DATABASE",
    default="otel",
    help="ClickHouse database of the telemetry tables (the /db of an http URL also sets it).",
    metavar="NAME",
)
CLICKHOUSE_CLUSTER = setting(
    "SMARTER_OBS_CLICKHOUSE_CLUSTER",
    help="ClickHouse cluster name: render DDL ON CLUSTER with Replicated engines.",
    metavar="NAME",
)
CLICKHOUSE_MIGRATIONS = setting(
    "SMARTER_OBS_CLICKHOUSE_MIGRATIONS",
    type=path,
    help="Directory of the ClickHouse migration templates (NNNN_name.sql).",
    default_help="the installed provisioning/clickhouse",
    metavar="DIR",
)
TTL_DAYS = setting(
    "SMARTER_OBS_TTL_DAYS",
    type=integer(minimum=0),
    default=30,
    help="Days of telemetry kept in ClickHouse; 0 keeps forever.",
    metavar="DAYS",
)
POSTGRES_DSN = setting(
    "SMARTER_OBS_POSTGRES_DSN",
    "SUPABASE_DB_URL",
    help="PostgreSQL/Supabase connection string.",
    default_help="embedded PostgreSQL (pgserver) under .smarter-obs/",
    metavar="DSN",
    secret=True,
)
POSTGRES_MIGRATIONS = setting(
    "SMARTER_OBS_POSTGRES_MIGRATIONS",
    type=path,
    help="Directory of the PostgreSQL migrations (NNNN_name.sql).",
    default_help="the installed provisioning/postgres",
    metavar="DIR",
)
KAFKA_BOOTSTRAP = setting(
    "SMARTER_OBS_KAFKA_BOOTSTRAP",
    help="Kafka/Redpanda bootstrap servers.",
    metavar="HOST:PORT[,…]",
)
KAFKA_GROUPS = setting(
    "SMARTER_OBS_KAFKA_GROUPS",
    type=words,
    help="Consumer groups to collect (names or regexes, space-separated in the variable).",
    default_help="every discovered group",
    metavar="NAME|REGEX",
)
KAFKA_TOPICS = setting(
    "SMARTER_OBS_KAFKA_TOPICS",
    type=words,
    help="Topics to collect (whole-name regexes, space-separated in the variable).",
    default_help="every topic not starting with '_'",
    metavar="REGEX",
)
KAFKA_CLUSTER_NAME = setting(
    "SMARTER_OBS_KAFKA_CLUSTER_NAME",
    help="Value of the `cluster` column.",
    default_help="the bootstrap servers",
    metavar="NAME",
)
KAFKA_INTERVAL = setting(
    "SMARTER_OBS_KAFKA_INTERVAL",
    type=duration,
    default=15.0,
    help="Time between Kafka lag collection cycles (e.g. 15s, 1m).",
)
KAFKA_TIMEOUT = setting(
    "SMARTER_OBS_KAFKA_TIMEOUT",
    type=duration,
    default=10.0,
    help="Limit for each Kafka request; an unreachable cluster fails the cycle after this.",
)
N8N_URL = setting(
    "SMARTER_OBS_N8N_URL",
    help="n8n base URL, e.g. https://n8n.example.com.",
    metavar="URL",
)

# Dashboards (smarter_obs/dashboards): datasource URLs beyond the collectors' own, Grafana identities.
CHATWOOT_DB_URL = setting(
    "SMARTER_OBS_CHATWOOT_DB_URL",
    "CHATWOOT_DB_URL",
    help="PostgreSQL connection string of Chatwoot's database (the `chatwoot` datasource, read-only).",
    default_help="database chatwoot on the embedded PostgreSQL",
    metavar="DSN",
    secret=True,
)
GRAFANA_CLICKHOUSE_UID = setting(
    "SMARTER_OBS_GRAFANA_CLICKHOUSE_UID",
    default="smarter-obs-clickhouse",
    help="Grafana uid of the ClickHouse datasource the dashboards reference.",
    metavar="UID",
)
GRAFANA_SUPABASE_UID = setting(
    "SMARTER_OBS_GRAFANA_SUPABASE_UID",
    default="smarter-obs-supabase",
    help="Grafana uid of the Supabase (PostgreSQL) datasource the dashboards reference.",
    metavar="UID",
)
GRAFANA_CHATWOOT_UID = setting(
    "SMARTER_OBS_GRAFANA_CHATWOOT_UID",
    default="smarter-obs-chatwoot",
    help="Grafana uid of the Chatwoot (PostgreSQL) datasource, when a Grafana dashboard reads it.",
    metavar="UID",
)
GRAFANA_FOLDER_UID = setting(
    "SMARTER_OBS_GRAFANA_FOLDER_UID",
    default="smarter-obs",
    help="Grafana folder uid holding the managed dashboards.",
    metavar="UID",
)
GRAFANA_FOLDER = setting(
    "SMARTER_OBS_GRAFANA_FOLDER",
    default="SmarterOS",
    help="Title of the Grafana folder holding the managed dashboards.",
    metavar="TITLE",
)


def home() -> Path:
    """The directory for embedded stores and collector state (absolute)."""
    return (HOME.get() or Path(".smarter-obs")).absolute()


def markdown_table() -> str:
    """The table of every setting, as docs/settings.md shows it."""
    lines = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for item in REGISTRY.values():
        names = "<br>".join(f"`{name}`" for name in item.env_vars)
        default = item.describe_default()
        shown = f"`{default}`" if default is not None and item.default is not None else (default or "none")
        lines.append(f"| {names} | {item.type.name} | {shown} | {item.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
