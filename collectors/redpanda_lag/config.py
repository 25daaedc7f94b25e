"""Settings of the Redpanda/Kafka lag collector: which groups and topics, Kafka client properties.

Kafka client properties use librdkafka's names. Besides ``--kafka-property KEY=VALUE`` they come from the
environment as ``SMARTER_OBS_KAFKA_<NAME>`` with dots written as underscores, e.g.
``SMARTER_OBS_KAFKA_SECURITY_PROTOCOL=SASL_SSL``, ``SMARTER_OBS_KAFKA_SASL_MECHANISM=SCRAM-SHA-256``,
``SMARTER_OBS_KAFKA_SASL_USERNAME``, ``SMARTER_OBS_KAFKA_SASL_PASSWORD``. Any of them may instead name a
file holding the value with a ``_FILE`` suffix (``SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE=/run/secrets/pw``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smarter_obs import settings
from smarter_obs.addresses import parse_host_port
from smarter_obs.errors import ConfigError
from smarter_obs.redact import MASK

#: Environment prefix of librdkafka properties.
KAFKA_ENV_PREFIX = "SMARTER_OBS_KAFKA_"
# Variables under the prefix that are smarter-obs's own settings, not librdkafka properties.
_OWN_SETTINGS = {name for name in settings.REGISTRY if name.startswith(KAFKA_ENV_PREFIX)}
# Properties the collector sets itself.
_RESERVED = {"bootstrap.servers", "logger", "error_cb", "stats_cb", "throttle_cb", "oauth_cb"}
# Characters that make a --group value a pattern. A dot alone does not: group ids such as "n8n.worker" are
# common, and a literal name must be collected even where the broker cannot list groups.
_REGEX_CHARS = re.compile(r"[\^$*+?{}\[\]\\|()]")
_SECRET_WORDS = ("password", "secret", "key", "token")


def is_pattern(value: str) -> bool:
    """True when a ``--group``/``--topic`` value is a regular expression rather than a plain name."""
    return bool(_REGEX_CHARS.search(value))


def _compile(value: str, option: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise ConfigError(
            f"{option} {value!r} is not a valid regular expression: {exc}", setting=option
        ) from None


@dataclass(frozen=True)
class GroupSelector:
    """Consumer groups to collect: literal ``names`` always, discovered groups matching ``patterns``."""

    names: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def parse(cls, values: Iterable[str]) -> GroupSelector:
        """``--group`` values; none at all means every discovered group."""
        names: list[str] = []
        patterns: list[re.Pattern[str]] = []
        for value in values:
            item = value.strip()
            if not item:
                continue
            if is_pattern(item):
                patterns.append(_compile(item, "--group"))
            elif item not in names:
                names.append(item)
        if not names and not patterns:
            patterns.append(re.compile(".*"))
        return cls(tuple(names), tuple(patterns))

    def select(self, discovered: Iterable[str] | None) -> list[str]:
        """Named groups plus discovered groups matching a pattern (whole-name match), sorted, unique."""
        chosen = set(self.names)
        for group in discovered or ():
            if any(p.fullmatch(group) for p in self.patterns):
                chosen.add(group)
        return sorted(chosen)


@dataclass(frozen=True)
class TopicSelector:
    """Topics to collect: those matching a pattern (whole name); by default every topic not starting with
    ``_`` (internal topics such as ``__consumer_offsets`` and ``_schemas``)."""

    patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def parse(cls, values: Iterable[str]) -> TopicSelector:
        return cls(
            tuple(
                _compile(v, "--topic") if is_pattern(v) else re.compile(re.escape(v))
                for v in (v.strip() for v in values)
                if v
            )
        )

    def __call__(self, topic: str) -> bool:
        if not self.patterns:
            return not topic.startswith("_")
        return any(p.fullmatch(topic) for p in self.patterns)


def kafka_properties(
    cli_values: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """librdkafka properties from ``SMARTER_OBS_KAFKA_*`` (and ``*_FILE``) then ``KEY=VALUE`` options."""
    environ = os.environ if environ is None else environ
    props: dict[str, str] = {}
    for name in sorted(environ):
        value = settings.env(name, environ)
        if not name.startswith(KAFKA_ENV_PREFIX) or name in _OWN_SETTINGS or value is None:
            continue
        key = name[len(KAFKA_ENV_PREFIX) :]
        if key.endswith("_FILE"):
            key = key[: -len("_FILE")]
            path = Path(value)
            try:
                value = path.read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}", setting=name) from None
            if not value:  # an empty secret would only surface later as an authentication failure
                raise ConfigError(f"{name}: {path} is empty; put the value in it", setting=name)
        props[key.lower().replace("_", ".")] = value
    for item in cli_values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--kafka-property {item.split('=')[0]!r}: expected KEY=VALUE, e.g. "
                "security.protocol=SASL_SSL",
                setting="--kafka-property",
            )
        props[key.strip()] = value
    for key in props:
        if key in _RESERVED:
            raise ConfigError(
                f"Kafka property {key!r} is set by smarter-obs itself; remove it "
                "(use --bootstrap for bootstrap.servers)",
                setting=key,
            )
    return props


def is_secret_property(key: str) -> bool:
    """True for librdkafka properties whose values must never be shown (passwords, keys, tokens)."""
    return any(w in key for w in _SECRET_WORDS)


def redact_properties(props: Mapping[str, str]) -> dict[str, str]:
    """``props`` with secret values masked, for logs."""
    return {k: (MASK if is_secret_property(k) else v) for k, v in props.items()}


def validate_bootstrap(value: str | None) -> str:
    """``host:port[,host:port…]`` or ConfigError."""
    if not value or not value.strip():
        raise ConfigError(
            "no Kafka bootstrap servers: pass --bootstrap HOST:PORT[,HOST:PORT] or set "
            f"{settings.KAFKA_BOOTSTRAP.env}",
            setting=settings.KAFKA_BOOTSTRAP.env,
        )
    servers = [s.strip() for s in value.split(",") if s.strip()]
    for server in servers:
        parse_host_port(
            server,
            what="bootstrap server",
            setting=settings.KAFKA_BOOTSTRAP.env,
            example="localhost:9092",
            credentials="pass them as -X sasl.username=USER with SMARTER_OBS_KAFKA_SASL_PASSWORD "
            "(or SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE) and -X sasl.mechanism=…",
        )
    return ",".join(servers)


@dataclass(frozen=True)
class LagConfig:
    """Everything one collector instance needs to know about the cluster it reads."""

    bootstrap: str
    cluster: str
    groups: GroupSelector = field(default_factory=lambda: GroupSelector.parse(()))
    topics: TopicSelector = field(default_factory=TopicSelector)
    properties: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
