"""Versioned migrations, independent of the database: discover files, skip what ran, apply the rest in
order."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

from smarter_obs import settings
from smarter_obs.errors import ConfigError, MigrationError

_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DOLLAR_QUOTE_RE = re.compile(r"\$[A-Za-z_]*\$")
_STRING_RE = re.compile(r"'[^']*'")


def provisioning_dir(kind: str, env_name: str) -> Path:
    """The migration directory for ``kind`` (``clickhouse``/``postgres``).

    ``$env_name`` if set, else the package data ``smarter_obs.provisioning/<kind>`` (the repository's
    ``provisioning/`` in an editable install, the wheel's copy otherwise).
    """
    override = settings.env(env_name)
    if override:
        candidate = Path(override)
    else:
        candidate = Path(str(resources.files("smarter_obs.provisioning") / kind))
    if not candidate.is_dir():
        raise ConfigError(
            f"{kind} migrations not found in {candidate}; set {env_name} to a provisioning/{kind} directory",
            setting=env_name,
        )
    return candidate


@dataclass(frozen=True)
class Migration:
    """One migration file, with its SQL already rendered for the target."""

    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def statements(self) -> list[str]:
        """The file split into statements on ``;`` at the end of a line.

        Lines inside a dollar-quoted body (``$$ … $$``, ``$fn$ … $fn$``: PL/pgSQL functions, ``DO`` blocks)
        never end a statement; elsewhere our DDL never has a line-final ``;`` inside a statement.
        """
        out, current = [], []
        quote: str | None = None  # the dollar-quote tag we are inside, if any
        for line in self.sql.splitlines():
            if line.strip().startswith("--") and not current:
                continue
            current.append(line)
            code = line if quote is not None else _STRING_RE.sub("", line).split("--", 1)[0]
            for tag in _DOLLAR_QUOTE_RE.findall(code):
                if quote is None:
                    quote = tag
                elif tag == quote:
                    quote = None
            if quote is None and line.rstrip().endswith(";"):
                stmt = "\n".join(current).strip().rstrip(";").strip()
                if stmt and not all(s.strip().startswith("--") or not s.strip() for s in stmt.splitlines()):
                    out.append(stmt)
                current = []
        tail = "\n".join(current).strip()
        if tail and not all(s.strip().startswith("--") or not s.strip() for s in tail.splitlines()):
            out.append(tail)
        return out


@dataclass
class MigrationReport:
    applied: list[Migration] = field(default_factory=list)
    skipped: list[Migration] = field(default_factory=list)


class Backend(Protocol):
    """What a database must offer the runner."""

    def ensure_migrations_table(self) -> None: ...

    def applied_versions(self) -> dict[int, str]:
        """version → checksum of what ran before."""
        ...

    def apply(self, migration: Migration) -> None:
        """Run the statements and record the version; raise MigrationError on failure."""
        ...


def discover(directory: Path, render: Callable[[str], str] = lambda s: s) -> list[Migration]:
    """``NNNN_name.sql`` files in ``directory``, sorted; each rendered with ``render``."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise ConfigError(f"{path}: migration files must be named NNNN_snake_name.sql")
        version = int(match.group(1))
        if version in migrations:
            raise ConfigError(f"{path}: version {version} is also used by {migrations[version].path.name}")
        migrations[version] = Migration(version, match.group(2), path, render(path.read_text()))
    return [migrations[v] for v in sorted(migrations)]


def run(
    backend: Backend,
    migrations: Iterable[Migration],
    progress: Callable[[str], None] | None = None,
) -> MigrationReport:
    """Apply every migration not yet recorded, in version order. Re-running is a no-op.

    A recorded version whose file now renders differently is not re-applied; ``progress`` gets a note.
    """
    report = MigrationReport()
    backend.ensure_migrations_table()
    done = backend.applied_versions()
    for migration in migrations:
        if migration.version in done:
            if progress and done[migration.version] != migration.checksum:
                progress(
                    f"note: {migration.path.name} differs from the applied version "
                    "(file edited or different settings); it is not re-applied"
                )
            report.skipped.append(migration)
            continue
        if progress:
            progress(f"applying {migration.path.name}")
        try:
            backend.apply(migration)
        except MigrationError:
            raise
        except Exception as exc:  # the driver's own error: keep its text, add the file
            raise MigrationError(
                f"{migration.path}: {type(exc).__name__}: {exc}",
                path=str(migration.path),
                version=migration.version,
            ) from exc
        report.applied.append(migration)
    return report
