"""Publishing configuration, from the environment.

Grafana: ``GRAFANA_URL``, ``GRAFANA_TOKEN`` (a service-account token). Metabase: ``METABASE_URL`` and
``METABASE_API_KEY``, or ``METABASE_USER``/``METABASE_PASSWORD`` for session auth; the databases cards are
bound to, by name: ``METABASE_SUPABASE_DB`` (default ``Supabase``), ``METABASE_CHATWOOT_DB`` (``Chatwoot``).
Datasources are managed in Grafana only when their connection variables are set:
``SMARTER_OBS_CLICKHOUSE_URL`` (ClickHouse) and ``SUPABASE_DB_URL`` (PostgreSQL). Every one is declared in
the settings registry (``smarter_obs/settings.py``, ``docs/settings.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from smarter_obs.errors import ConfigError

# The names messages use (each setting also has its SMARTER_OBS_* name, see smarter_obs/settings.py).
GRAFANA_URL = "GRAFANA_URL"
GRAFANA_TOKEN = "GRAFANA_TOKEN"
GRAFANA_FOLDER_UID = "SMARTER_OBS_GRAFANA_FOLDER_UID"
METABASE_URL = "METABASE_URL"
METABASE_API_KEY = "METABASE_API_KEY"
METABASE_USER = "METABASE_USER"
METABASE_PASSWORD = "METABASE_PASSWORD"
METABASE_SUPABASE_DB = "METABASE_SUPABASE_DB"
METABASE_CHATWOOT_DB = "METABASE_CHATWOOT_DB"
METABASE_COLLECTION = "SMARTER_OBS_METABASE_COLLECTION"
CLICKHOUSE_URL = "SMARTER_OBS_CLICKHOUSE_URL"
SUPABASE_DB_URL = "SUPABASE_DB_URL"

DEFAULT_FOLDER_UID = "smarter-obs"
DEFAULT_FOLDER_TITLE = "SmarterOS"
DEFAULT_COLLECTION = "SmarterOS"
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class PublishConfig:
    """Where and how to publish. Secrets are kept out of ``repr``."""

    grafana_url: str | None = None
    grafana_token: str | None = field(default=None, repr=False)
    folder_uid: str = DEFAULT_FOLDER_UID
    folder_title: str = DEFAULT_FOLDER_TITLE
    metabase_url: str | None = None
    metabase_api_key: str | None = field(default=None, repr=False)
    metabase_user: str | None = None
    metabase_password: str | None = field(default=None, repr=False)
    metabase_databases: Mapping[str, str] = field(
        default_factory=lambda: {"supabase": "Supabase", "chatwoot": "Chatwoot"}
    )
    collection: str = DEFAULT_COLLECTION
    clickhouse_url: str | None = field(default=None, repr=False)
    supabase_db_url: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = 0.5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> PublishConfig:
        """From the settings registry (own ``SMARTER_OBS_*`` names, then ``GRAFANA_URL`` etc.)."""
        from smarter_obs import settings as s

        def get(setting):
            return setting.get(environ=environ)

        values = dict(
            grafana_url=get(s.GRAFANA_URL),
            grafana_token=get(s.GRAFANA_TOKEN),
            folder_uid=get(s.GRAFANA_FOLDER_UID),
            folder_title=get(s.GRAFANA_FOLDER),
            metabase_url=get(s.METABASE_URL),
            metabase_api_key=get(s.METABASE_API_KEY),
            metabase_user=get(s.METABASE_USER),
            metabase_password=get(s.METABASE_PASSWORD),
            metabase_databases={
                "supabase": get(s.METABASE_SUPABASE_DB),
                "chatwoot": get(s.METABASE_CHATWOOT_DB),
            },
            collection=get(s.METABASE_COLLECTION),
            clickhouse_url=get(s.CLICKHOUSE_URL),
            supabase_db_url=get(s.POSTGRES_DSN),
            timeout=get(s.PUBLISH_TIMEOUT),
            retries=get(s.PUBLISH_RETRIES),
        )
        values.update(overrides)
        return cls(**values)

    def check_grafana(self) -> None:
        if not self.grafana_url:
            raise ConfigError(f"set {GRAFANA_URL} (e.g. https://metrics.smarterbot.cl)", setting=GRAFANA_URL)
        if not self.grafana_token:
            raise ConfigError(
                f"set {GRAFANA_TOKEN} to a Grafana service-account token (Administration → Service accounts)",
                setting=GRAFANA_TOKEN,
            )
        if len(self.folder_uid) > 40:
            raise ConfigError(
                f"{GRAFANA_FOLDER_UID} must be at most 40 characters", setting=GRAFANA_FOLDER_UID
            )

    def check_metabase(self) -> None:
        if not self.metabase_url:
            raise ConfigError(f"set {METABASE_URL} (e.g. https://bi.smarterbot.cl)", setting=METABASE_URL)
        if not self.metabase_api_key and not (self.metabase_user and self.metabase_password):
            raise ConfigError(
                f"set {METABASE_API_KEY} (Admin → Settings → Authentication → API keys), "
                f"or {METABASE_USER} and {METABASE_PASSWORD}",
                setting=METABASE_API_KEY,
            )

    @property
    def metabase_credential_variable(self) -> str:
        return METABASE_API_KEY if self.metabase_api_key else f"{METABASE_USER}/{METABASE_PASSWORD}"

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be printed (used to scrub server answers before they reach a message)."""
        found = [self.grafana_token, self.metabase_api_key, self.metabase_password]
        for url in (self.clickhouse_url, self.supabase_db_url):
            if url and "@" in url and ":" in url.split("://", 1)[-1].split("@", 1)[0]:
                found.append(url.split("://", 1)[-1].split("@", 1)[0].split(":", 1)[1])
        return tuple(s for s in found if s)
