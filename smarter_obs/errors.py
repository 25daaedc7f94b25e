"""The smarter-obs error tree. Callers catch the family that matches what they do next.

    SmarterObsError
    ├── ConfigError (also ValueError)      bad setting, URL or argument: fix the input, do not retry
    ├── SinkError                          a store (ClickHouse, PostgreSQL) refused or failed a write/read
    │   ├── SinkUnavailableError           cannot reach the store / timed out: retryable
    │   └── MigrationError                 a migration file failed: carries the file and the server message
    └── SourceError                        a collector source (Kafka, n8n API, OTLP sender) failed
        ├── SourceUnavailableError         network error, 429, 5xx, broker down: retryable
        ├── SourceAuthError                401/403: fix the credential named in the message
        └── SourceDataError                malformed payload: nothing from it was committed

Misuse (a closed sink used again) raises RuntimeError, not one of these.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "MigrationError",
    "SinkError",
    "SinkUnavailableError",
    "SmarterObsError",
    "SourceAuthError",
    "SourceDataError",
    "SourceError",
    "SourceUnavailableError",
]


class SmarterObsError(Exception):
    """Base of every error smarter-obs raises on purpose."""


class ConfigError(SmarterObsError, ValueError):
    """A setting, URL or argument is invalid. The message names it and says how to fix it."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class SinkError(SmarterObsError):
    """A store failed an operation; ``code`` is the store's own error code when it gave one."""

    def __init__(
        self, message: str, *, table: str | None = None, rows: int | None = None, code: int | None = None
    ) -> None:
        super().__init__(message)
        self.table = table
        self.rows = rows
        self.code = code


class SinkUnavailableError(SinkError):
    """The store could not be reached or timed out; the operation may be retried."""


class MigrationError(SinkError):
    """A migration failed; ``path`` is the file, the message includes the server's own text."""

    def __init__(self, message: str, *, path: str | None = None, version: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.version = version


class SourceError(SmarterObsError):
    """A collector's source failed."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class SourceUnavailableError(SourceError):
    """Network error, throttling or a server-side failure; retryable."""


class SourceAuthError(SourceError):
    """The source rejected the credential; the message names the variable to fix."""


class SourceDataError(SourceError):
    """The source sent something malformed; the message names the page/record and field."""


for _name in __all__:
    globals()[_name].__module__ = "smarter_obs"
