"""Every SMARTER_OBS_* setting in one place: name, meaning, default.

Precedence everywhere: explicit argument > environment variable (the standard ``OTEL_*`` name where one
exists) > default. An empty environment variable counts as unset.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Directory holding the embedded stores (chDB data, pgserver cluster). Default ``./.smarter-obs``.
SMARTER_OBS_HOME = "SMARTER_OBS_HOME"
#: ClickHouse URL: ``chdb:///path`` (embedded) or ``http(s)://user:pass@host:8123/db``.
#: Default: embedded chDB under ``$SMARTER_OBS_HOME/clickhouse``.
SMARTER_OBS_CLICKHOUSE_URL = "SMARTER_OBS_CLICKHOUSE_URL"
#: ClickHouse database holding the telemetry tables. Default ``otel``.
SMARTER_OBS_CLICKHOUSE_DATABASE = "SMARTER_OBS_CLICKHOUSE_DATABASE"
#: ClickHouse cluster name; when set, DDL is rendered ``ON CLUSTER`` with Replicated engines.
SMARTER_OBS_CLICKHOUSE_CLUSTER = "SMARTER_OBS_CLICKHOUSE_CLUSTER"
#: Days of telemetry kept in ClickHouse (TTL). Default 30; 0 keeps forever.
SMARTER_OBS_TTL_DAYS = "SMARTER_OBS_TTL_DAYS"
#: PostgreSQL/Supabase connection string. Default: embedded pgserver under ``$SMARTER_OBS_HOME/postgres``.
SMARTER_OBS_POSTGRES_DSN = "SMARTER_OBS_POSTGRES_DSN"
#: Kafka/Redpanda bootstrap servers, ``host:port[,host:port]``.
SMARTER_OBS_KAFKA_BOOTSTRAP = "SMARTER_OBS_KAFKA_BOOTSTRAP"
#: n8n base URL, e.g. ``https://n8n.example.com``.
SMARTER_OBS_N8N_URL = "SMARTER_OBS_N8N_URL"

DEFAULT_CLICKHOUSE_DATABASE = "otel"
DEFAULT_TTL_DAYS = 30


def env(name: str, default: str | None = None) -> str | None:
    """The environment value of ``name``; empty strings count as unset."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def resolve(argument: str | None, *names: str, default: str | None = None) -> str | None:
    """argument > first set environment variable among ``names`` > default."""
    if argument not in (None, ""):
        return argument
    for name in names:
        value = env(name)
        if value is not None:
            return value
    return default


def home() -> Path:
    """The directory for embedded stores and collector state."""
    return Path(env(SMARTER_OBS_HOME) or ".smarter-obs").absolute()
