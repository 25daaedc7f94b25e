"""The Supabase business schema (provisioning/postgres/0020-0023): columns as issue 12 names them, idempotent
migrations, row-level security on every table with nothing opened to ``anon``, and the rollups' triggers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smarter_obs.db.postgres import migrate
from smarter_obs.sinks.postgres import connect

# Issue 12's contract: (column, type, nullable) per table; more columns are allowed, none of these may change.
CONTRACT = {
    "tenants": [
        ("id", "text", False),
        ("name", "text", False),
        ("created_at", "timestamp with time zone", False),
    ],
    "profiles": [
        ("id", "text", False),
        ("tenant_id", "text", False),
        ("email", "text", True),
        ("created_at", "timestamp with time zone", False),
        ("onboarding_completed_at", "timestamp with time zone", True),
        ("deleted_at", "timestamp with time zone", True),
    ],
    "user_events": [
        ("tenant_id", "text", False),
        ("user_id", "text", False),
        ("event", "text", False),
        ("occurred_at", "timestamp with time zone", False),
    ],
    "checkouts": [
        ("tenant_id", "text", False),
        ("id", "bigint", False),
        ("created_at", "timestamp with time zone", False),
        ("completed_at", "timestamp with time zone", True),
    ],
    "orders": [
        ("tenant_id", "text", False),
        ("id", "bigint", False),
        ("created_at", "timestamp with time zone", False),
        ("currency", "text", False),
        ("total_price", "numeric(14,2)", False),
        ("financial_status", "text", True),
        ("cancelled_at", "timestamp with time zone", True),
        ("checkout_id", "bigint", True),
        ("customer_id", "bigint", True),
    ],
    "order_line_items": [
        ("tenant_id", "text", False),
        ("order_id", "bigint", False),
        ("id", "bigint", False),
        ("product_id", "bigint", True),
        ("title", "text", False),
        ("quantity", "integer", False),
        ("price", "numeric(14,2)", False),
    ],
}
PRIMARY_KEYS = {
    "tenants": ["id"],
    "profiles": ["id"],
    "checkouts": ["tenant_id", "id"],
    "orders": ["tenant_id", "id"],
    "order_line_items": ["tenant_id", "id"],
}
BUSINESS_TABLES = [*CONTRACT, "user_activity_daily"]


def _columns(conn, table: str) -> dict[str, tuple[str, bool]]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull FROM pg_attribute a"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (table,),
    ).fetchall()
    return {name: (type_, nullable) for name, type_, nullable in rows}


def _primary_key(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary"
        " ORDER BY array_position(i.indkey::int2[], a.attnum)",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def test_migrate_creates_the_business_tables_as_the_issue_names_them(fresh_database) -> None:
    dsn = fresh_database("schema")
    report = migrate(dsn)
    assert {m.name for m in report.applied} >= {
        "tenants_profiles",
        "user_events",
        "shopify_commerce",
        "business_access",
    }
    with connect(dsn) as conn:
        for table, columns in CONTRACT.items():
            actual = _columns(conn, table)
            for name, type_, nullable in columns:
                assert actual.get(name) == (type_, nullable), f"{table}.{name}"
        for table, key in PRIMARY_KEYS.items():
            assert _primary_key(conn, table) == key, table
        # every index the cards use exists (a dashboard query on 1M rows without them takes seconds)
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert {
            "profiles_tenant_created_idx",
            "user_activity_daily_tenant_idx",
            "checkouts_tenant_created_idx",
            "orders_tenant_revenue_idx",
            "order_line_items_tenant_sold_idx",
        } <= indexes
        # a Clerk user id is enforced
        conn.execute("INSERT INTO tenants VALUES ('org_1', 'Shop', now())")
        with pytest.raises(Exception, match="profiles_id_check"):
            conn.execute("INSERT INTO profiles (id, tenant_id, created_at) VALUES ('42', 'org_1', now())")


def test_migrate_twice_applies_nothing_and_changes_nothing(fresh_database) -> None:
    dsn = fresh_database("idem")
    migrate(dsn)
    with connect(dsn) as conn:
        before = {t: _columns(conn, t) for t in BUSINESS_TABLES}
    again = migrate(dsn)
    assert again.applied == [] and len(again.skipped) >= 8
    with connect(dsn) as conn:
        assert {t: _columns(conn, t) for t in BUSINESS_TABLES} == before


def _enable_supabase_roles(server_conn) -> None:
    for role in ("anon", "authenticated"):
        server_conn.execute(f"CREATE ROLE {role} NOLOGIN")


def test_rls_on_every_table_no_policy_and_anon_reads_nothing(fresh_database, postgres_server_dsn) -> None:
    """On a plain PostgreSQL (no anon role) the migration works; on a Supabase-like server (anon and
    authenticated roles with Supabase's default grants) anon has no privilege left and authenticated,
    still granted, sees no row because RLS has no policy."""
    plain = fresh_database("plain")
    with connect(postgres_server_dsn) as server:
        assert server.execute("SELECT 1 FROM pg_roles WHERE rolname = 'anon'").fetchone() is None
    migrate(plain)
    with connect(plain) as conn:
        flags = dict(
            conn.execute(
                "SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY(%s)", (BUSINESS_TABLES,)
            ).fetchall()
        )
        assert flags == dict.fromkeys(BUSINESS_TABLES, True)
        policies = conn.execute("SELECT tablename, policyname FROM pg_policies").fetchall()
        assert policies == []

    supa = fresh_database("supa")
    with connect(postgres_server_dsn) as server:
        _enable_supabase_roles(server)
    try:
        with connect(supa) as conn:
            # what Supabase does for every new table in public
            conn.execute("GRANT USAGE ON SCHEMA public TO anon, authenticated")
            conn.execute(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated"
            )
        migrate(supa)
        with connect(supa) as conn:
            conn.execute("INSERT INTO tenants VALUES ('org_1', 'Shop', now())")
            conn.execute("INSERT INTO orders (tenant_id, id, created_at, currency, total_price) VALUES"
                         " ('org_1', 1, now(), 'CLP', 1000)")  # fmt: skip
            for table in BUSINESS_TABLES:
                assert conn.execute(
                    "SELECT has_table_privilege('anon', %s, 'SELECT'),"
                    " has_table_privilege('anon', %s, 'INSERT')",
                    (table, table),
                ).fetchone() == (False, False), table
            conn.execute("SET ROLE authenticated")
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)
            conn.execute("RESET ROLE")
    finally:
        with connect(supa) as conn:
            conn.execute("DROP OWNED BY anon, authenticated")
        with connect(postgres_server_dsn) as server:
            server.execute("DROP ROLE anon")
            server.execute("DROP ROLE authenticated")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_triggers_keep_the_daily_activity_and_line_item_copies_exact(fresh_database) -> None:
    dsn = fresh_database("trig")
    migrate(dsn)
    with connect(dsn) as conn:
        conn.execute("INSERT INTO tenants VALUES ('org_1', 'Shop', now())")
        conn.execute(
            "INSERT INTO user_events (tenant_id, user_id, event, occurred_at) VALUES"
            " ('org_1', 'user_a', 'login', %s), ('org_1', 'user_a', 'login', %s),"
            " ('org_1', 'user_a', 'x', %s)",
            (_utc(2025, 1, 1, 23, 59, 59), _utc(2025, 1, 2), _utc(2025, 1, 2, 10)),
        )

        def activity():
            return conn.execute(
                "SELECT day::text, user_id, events FROM user_activity_daily ORDER BY day"
            ).fetchall()

        assert activity() == [("2025-01-01", "user_a", 1), ("2025-01-02", "user_a", 2)]
        conn.execute("DELETE FROM user_events WHERE occurred_at = %s", (_utc(2025, 1, 1, 23, 59, 59),))
        assert activity() == [("2025-01-02", "user_a", 2)]
        conn.execute("UPDATE user_events SET occurred_at = occurred_at + interval '1 day' WHERE event = 'x'")
        assert activity() == [("2025-01-02", "user_a", 1), ("2025-01-03", "user_a", 1)]
        conn.execute("TRUNCATE user_events")
        assert activity() == []

        conn.execute(
            "INSERT INTO orders (tenant_id, id, created_at, currency, total_price)"
            " VALUES ('org_1', 7, %s, 'CLP', 5)",
            (_utc(2025, 1, 5),),
        )
        conn.execute(
            "INSERT INTO order_line_items (tenant_id, order_id, id, title, quantity, price)"
            " VALUES ('org_1', 7, 1, 'Pan', 2, 2.5)"
        )

        def copies():
            return conn.execute(
                "SELECT order_created_at, order_cancelled_at FROM order_line_items"
            ).fetchall()

        assert copies() == [(_utc(2025, 1, 5), None)]
        conn.execute("UPDATE orders SET cancelled_at = %s", (_utc(2025, 1, 6),))
        assert copies() == [(_utc(2025, 1, 5), _utc(2025, 1, 6))]
        conn.execute("UPDATE orders SET cancelled_at = NULL, created_at = %s", (_utc(2025, 1, 4),))
        assert copies() == [(_utc(2025, 1, 4), None)]
