"""The Grafana datasources smarter-obs manages, from the same URLs the other commands read.

``SMARTER_OBS_CLICKHOUSE_URL`` (``http(s)://user:pass@host:8123/db``, or ``clickhouse(s)://…:9000`` for the
native protocol) → a ``grafana-clickhouse-datasource``; ``SUPABASE_DB_URL`` (``postgresql://…``) → a
``grafana-postgresql-datasource``. Unset (or an embedded ``chdb://`` store Grafana cannot reach) → not
managed: dashboards reference the uid, and ``plan`` warns when Grafana lacks it. Passwords travel only in
``secureJsonData`` of the API call. Uids and names are the ones ``smarter-obs build`` writes into the
dashboards and ``provisioning/grafana/datasources`` (``smarter_obs.dashboards.datasources``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from smarter_obs.dashboards.publish.config import CLICKHOUSE_URL, SUPABASE_DB_URL, PublishConfig
from smarter_obs.errors import ConfigError

CLICKHOUSE_TYPE = "grafana-clickhouse-datasource"
POSTGRES_TYPE = "grafana-postgresql-datasource"


@dataclass(frozen=True)
class ManagedDatasource:
    uid: str
    name: str
    type: str
    variable: str
    url: str = ""
    user: str = ""
    json_data: dict[str, Any] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)

    def body(self, *, with_secrets: bool) -> dict[str, Any]:
        """The ``POST``/``PUT /api/datasources`` body; the password only when ``with_secrets``."""
        body = {
            "uid": self.uid,
            "name": self.name,
            "type": self.type,
            "access": "proxy",
            "url": self.url,
            "user": self.user,
            "jsonData": dict(self.json_data),
        }
        if with_secrets and self.password:
            body["secureJsonData"] = {"password": self.password}
        return body

    def normal(self) -> dict[str, Any]:
        from smarter_obs.dashboards.publish.normal import grafana_datasource

        return grafana_datasource(
            {**self.body(with_secrets=False), "secureJsonFields": {"password": bool(self.password)}}
        )


def identity(name: str) -> tuple[str, str]:
    """(uid, Grafana name) of datasource ``name``, as the compiled dashboards and provisioning use them."""
    from smarter_obs.dashboards.datasources import get_datasource, grafana_uid

    return grafana_uid(name), get_datasource(name).grafana_name


def _clickhouse(url: str, database: str) -> ManagedDatasource | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "chdb":
        return None
    if scheme not in ("http", "https", "clickhouse", "clickhouses", "tcp"):
        raise ConfigError(
            f"{CLICKHOUSE_URL}: scheme {scheme!r} is not one Grafana's ClickHouse plugin speaks "
            "(use http(s)://host:8123 or clickhouse(s)://host:9000)",
            setting=CLICKHOUSE_URL,
        )
    native = scheme in ("clickhouse", "clickhouses", "tcp")
    secure = scheme in ("https", "clickhouses")
    port = parts.port or (9440 if native and secure else 9000 if native else 8443 if secure else 8123)
    uid, name = identity("clickhouse")
    json_data = {
        "host": parts.hostname or "localhost",
        "port": port,
        "protocol": "native" if native else "http",
        "secure": secure,
        "username": unquote(parts.username or "default"),
        "defaultDatabase": parts.path.strip("/") or database,
    }
    return ManagedDatasource(
        uid,
        name,
        CLICKHOUSE_TYPE,
        CLICKHOUSE_URL,
        json_data=json_data,
        password=unquote(parts.password or "") or None,
    )


def _postgres(url: str) -> ManagedDatasource:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"{SUPABASE_DB_URL} must be a postgresql:// URL", setting=SUPABASE_DB_URL)
    query = parse_qs(parts.query)
    uid, name = identity("supabase")
    return ManagedDatasource(
        uid,
        name,
        POSTGRES_TYPE,
        SUPABASE_DB_URL,
        url=f"{parts.hostname}:{parts.port or 5432}",
        user=unquote(parts.username or "postgres"),
        json_data={
            "database": parts.path.strip("/") or "postgres",
            "sslmode": query.get("sslmode", ["require"])[0],
            "maxOpenConns": 10,
        },
        password=unquote(parts.password or "") or None,
    )


def managed_datasources(
    config: PublishConfig, database: str = "otel"
) -> tuple[list[ManagedDatasource], list[str]]:
    """(datasources to manage, notes on the ones that are not)."""
    managed, notes = [], []
    if config.clickhouse_url:
        ds = _clickhouse(config.clickhouse_url, database)
        if ds is None:
            notes.append(
                f"{CLICKHOUSE_URL} is an embedded chdb:// store Grafana cannot reach: "
                "the ClickHouse datasource is not managed"
            )
        else:
            managed.append(ds)
    if config.supabase_db_url:
        managed.append(_postgres(config.supabase_db_url))
    return managed, notes
