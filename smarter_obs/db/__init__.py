"""Database migrations for the telemetry stores (ClickHouse, PostgreSQL)."""

from smarter_obs.db._runner import Migration, MigrationReport, discover, run

__all__ = ["Migration", "MigrationReport", "discover", "run"]
