"""The project's Chatwoot DDL (provisioning/chatwoot/schema.sql) agrees with Chatwoot's real schema.

Both files are loaded into PostgreSQL and compared through the catalog, so "the same" means what the server
sees: every table, column (type, nullability, default) and index we declare exists identically in the full
copy of Chatwoot's schema (tests/specs/chatwoot/schema.sql, from chatwoot/chatwoot db/schema.rb).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smarter_obs.seed.chatwoot import create_chatwoot_schema, write_chatwoot
from smarter_obs.sinks.postgres import connect

REAL_SCHEMA = Path(__file__).parents[2] / "specs" / "chatwoot" / "schema.sql"


@pytest.fixture(scope="module")
def schemas(fresh_database) -> tuple[str, str]:
    ours, real = fresh_database("cw_ours"), fresh_database("cw_real")
    with connect(ours) as conn:
        create_chatwoot_schema(conn)
    with connect(real) as conn:
        conn.execute(REAL_SCHEMA.read_text())
    return ours, real


def _columns(conn) -> dict[tuple[str, str], tuple]:
    rows = conn.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
    ).fetchall()
    return {(table, column): (type_, notnull, default) for table, column, type_, notnull, default in rows}


def _indexes(conn) -> dict[str, str]:
    return dict(
        conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'").fetchall()
    )


def test_every_declared_column_exists_identically_in_chatwoots_schema(schemas) -> None:
    ours, real = schemas
    with connect(ours) as a, connect(real) as b:
        declared, upstream = _columns(a), _columns(b)
    assert {t for t, _ in declared} >= {"conversations", "messages", "inboxes", "users", "reporting_events"}
    mismatched = {
        key: (value, upstream.get(key)) for key, value in declared.items() if upstream.get(key) != value
    }
    assert mismatched == {}


def test_every_declared_index_is_one_of_chatwoots(schemas) -> None:
    ours, real = schemas
    with connect(ours) as a, connect(real) as b:
        declared, upstream = _indexes(a), _indexes(b)
    assert len(declared) > 20
    assert {name: (d, upstream.get(name)) for name, d in declared.items() if upstream.get(name) != d} == {}


def test_the_seed_fits_chatwoots_full_schema_and_its_display_id_trigger(schemas, chatwoot_data) -> None:
    """The generated rows load into the real schema unchanged, its trigger numbering conversations per
    account exactly as the generator did."""
    _, real = schemas
    with connect(real) as conn:
        write_chatwoot(conn, chatwoot_data)
        stored = dict(conn.execute("SELECT id, display_id FROM conversations").fetchall())
    assert stored == {c.id: c.display_id for c in chatwoot_data.conversations}
