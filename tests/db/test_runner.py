"""The database-independent part of migrations: file discovery, statement splitting, ordering, re-runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from smarter_obs.db import Migration, discover, run
from smarter_obs.errors import ConfigError, MigrationError


class RecordingBackend:
    """Keeps applied versions in memory and records the statements it was given, in order."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.versions: dict[int, str] = {}
        self.executed: list[str] = []
        self.fail_on = fail_on

    def ensure_migrations_table(self) -> None:
        pass

    def applied_versions(self) -> dict[int, str]:
        return dict(self.versions)

    def apply(self, migration: Migration) -> None:
        for statement in migration.statements():
            if self.fail_on and self.fail_on in statement:
                raise RuntimeError(f"Code: 62. Syntax error near {self.fail_on!r}")
            self.executed.append(statement)
        self.versions[migration.version] = migration.checksum


def _write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_discover_orders_by_version_and_renders(tmp_path: Path) -> None:
    _write(tmp_path, {"0002_b.sql": "SELECT {x};\n", "0001_a.sql": "SELECT 1;\n"})
    found = discover(tmp_path, render=lambda s: s.replace("{x}", "2"))
    assert [(m.version, m.name) for m in found] == [(1, "a"), (2, "b")]
    assert found[1].sql == "SELECT 2;\n"


@pytest.mark.parametrize("name", ["1_a.sql", "0001-a.sql", "0001_A.sql"])
def test_discover_rejects_badly_named_files(tmp_path: Path, name: str) -> None:
    _write(tmp_path, {name: "SELECT 1;"})
    with pytest.raises(ConfigError, match="NNNN_snake_name.sql"):
        discover(tmp_path)


def test_discover_rejects_duplicate_versions(tmp_path: Path) -> None:
    _write(tmp_path, {"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 2;"})
    with pytest.raises(ConfigError, match="0001_a.sql"):
        discover(tmp_path)


def test_statements_split_on_line_end_semicolons_and_drop_comment_only_chunks() -> None:
    sql = (
        "-- header\nCREATE TABLE a (x String DEFAULT ';')\nENGINE = Memory;\n\n"
        "-- only a comment;\nSELECT 1;\nSELECT 2"
    )
    m = Migration(1, "x", Path("0001_x.sql"), sql)
    assert m.statements() == [
        "CREATE TABLE a (x String DEFAULT ';')\nENGINE = Memory",
        "SELECT 1",
        "SELECT 2",
    ]


def test_run_applies_pending_once_and_reruns_are_noops(tmp_path: Path) -> None:
    _write(tmp_path, {"0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;\nSELECT 3;"})
    backend = RecordingBackend()
    first = run(backend, discover(tmp_path))
    second = run(backend, discover(tmp_path))
    assert [m.version for m in first.applied] == [1, 2]
    assert second.applied == [] and [m.version for m in second.skipped] == [1, 2]
    assert backend.executed == ["SELECT 1", "SELECT 2", "SELECT 3"]


def test_an_applied_file_edited_later_is_not_reapplied_and_the_progress_says_so(tmp_path: Path) -> None:
    _write(tmp_path, {"0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;"})
    backend = RecordingBackend()
    run(backend, discover(tmp_path))
    _write(tmp_path, {"0002_b.sql": "SELECT 22;"})
    notes: list[str] = []
    report = run(backend, discover(tmp_path), notes.append)
    assert report.applied == [] and backend.executed == ["SELECT 1", "SELECT 2"]
    (note,) = notes
    assert note.startswith("note: 0002_b.sql differs from the applied version") and "not re-applied" in note


def test_failed_migration_names_the_file_and_keeps_the_server_message(tmp_path: Path) -> None:
    _write(tmp_path, {"0001_a.sql": "SELECT 1;", "0002_bad.sql": "SELEC 2;", "0003_c.sql": "SELECT 3;"})
    backend = RecordingBackend(fail_on="SELEC 2")
    with pytest.raises(MigrationError) as info:
        run(backend, discover(tmp_path))
    assert "0002_bad.sql" in str(info.value) and "Syntax error" in str(info.value)
    assert info.value.version == 2
    assert set(backend.versions) == {1}  # nothing after the failure ran


def test_provisioning_dir_prefers_the_env_override_and_names_it_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smarter_obs.db._runner import provisioning_dir

    monkeypatch.setenv("X_MIGRATIONS", str(tmp_path))
    assert provisioning_dir("clickhouse", "X_MIGRATIONS") == tmp_path
    monkeypatch.setenv("X_MIGRATIONS", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="X_MIGRATIONS"):
        provisioning_dir("clickhouse", "X_MIGRATIONS")
    monkeypatch.delenv("X_MIGRATIONS")
    assert provisioning_dir("postgres", "X_MIGRATIONS").parts[-2:] == ("provisioning", "postgres")


def test_statements_keep_dollar_quoted_bodies_whole() -> None:
    sql = (
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n    INSERT INTO t VALUES (1);\n    RETURN NULL;\nEND;\n$fn$;\n"
        "DO $$ BEGIN\n  PERFORM 1;\nEND $$;\nSELECT '$x$';\nSELECT 2;\n"
    )
    m = Migration(1, "x", Path("0001_x.sql"), sql)
    assert m.statements() == [
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n    INSERT INTO t VALUES (1);\n    RETURN NULL;\nEND;\n$fn$",
        "DO $$ BEGIN\n  PERFORM 1;\nEND $$",
        "SELECT '$x$'",
        "SELECT 2",
    ]
