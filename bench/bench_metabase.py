"""Metabase cards: the median of every card's query over a 90-day range at 1M orders and 5M events.

Target (issue 12): < 300 ms per card. Each query runs through ``run_query`` (the path ``smarter-obs query``,
the tests and the preview use) on an embedded PostgreSQL 16, warm, median of ``BENCH_METABASE_RUNS``.

Data (generated in the database with ``INSERT … SELECT generate_series``, one year ending at the range end):
20 tenants, 100k profiles, 5M user_events (~3,400 active users a day, ~4 events each), 1.6M checkouts,
1M orders (one tenant in two currencies, 4 % cancelled), ~2.5M line items; Chatwoot: 300k conversations,
2.4M messages, their reporting events. ``BENCH_METABASE_SCALE`` (default 1) scales every count.
Baselines in the same run: the definitions computed from the raw tables (no rollup, no copied order
columns), to show what the rollup and the line-item copies buy.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

SCALE = float(os.environ.get("BENCH_METABASE_SCALE", "1"))
RUNS = int(os.environ.get("BENCH_METABASE_RUNS", "7"))
TARGET_MS = 300.0
END = date(2025, 6, 30)  # last day of the data and of the 90-day range
DAYS = 365
RANGE_DAYS = 90

ORDERS = int(1_000_000 * SCALE)
EVENTS = int(5_000_000 * SCALE)
PROFILES = max(int(100_000 * SCALE), 1000)
CONVERSATIONS = int(300_000 * SCALE)
TENANTS = 20

_SUPABASE = """
INSERT INTO tenants (id, name, created_at)
SELECT 'org_' || lpad(t::text, 27, '0'), 'Shop ' || t, timestamptz '{start}' - interval '30 days'
FROM generate_series(0, {tenants} - 1) t;

INSERT INTO profiles (id, tenant_id, email, created_at, onboarding_completed_at, deleted_at)
SELECT 'user_' || lpad(u::text, 27, '0'), 'org_' || lpad((u % {tenants})::text, 27, '0'),
       'u' || u || '@example.cl',
       timestamptz '{start}' + (u::float8 / {profiles}) * interval '{days} days',
       CASE WHEN u % 10 < 7 THEN timestamptz '{start}' + (u::float8 / {profiles}) * interval '{days} days'
            + interval '20 hours' END,
       CASE WHEN u % 31 = 0 THEN timestamptz '{start}' + interval '{days} days' - interval '1 day' END
FROM generate_series(0, {profiles} - 1) u;

-- bulk load: triggers and FK checks off (session_replication_role); the derived rows (the daily
-- activity rollup, the line items' order copies) are written by the same statements the triggers run
SET session_replication_role = replica;

INSERT INTO user_events (tenant_id, user_id, event, occurred_at)
SELECT 'org_' || lpad((p % {tenants})::text, 27, '0'), 'user_' || lpad(p::text, 27, '0'),
       (ARRAY['login', 'message_sent', 'automation_run', 'order_viewed'])[1 + k],
       timestamptz '{start}' + d * interval '1 day' + ((s * 37 + k * 8111) % 86400) * interval '1 second'
FROM generate_series(0, {days} - 1) d,
     generate_series(0, {active_per_day} - 1) s,
     generate_series(0, 3) k,
     LATERAL (SELECT ((s::bigint * 7919 + d::bigint * 104729) % {profiles})::int AS p) pick;

INSERT INTO checkouts (tenant_id, id, created_at, completed_at)
SELECT 'org_' || lpad((c % {tenants})::text, 27, '0'), 31000000000000 + c,
       timestamptz '{start}' + (c::float8 / {checkouts}) * interval '{days} days',
       CASE WHEN c % 8 < 5 THEN timestamptz '{start}' + (c::float8 / {checkouts}) * interval '{days} days'
            + interval '6 minutes' END
FROM generate_series(0, {checkouts} - 1) c;

INSERT INTO user_activity_daily (day, tenant_id, user_id, events)
SELECT (occurred_at AT TIME ZONE 'UTC')::date, tenant_id, user_id, count(*) FROM user_events GROUP BY 1, 2, 3;

INSERT INTO orders (tenant_id, id, created_at, currency, total_price, financial_status, cancelled_at,
                    checkout_id, customer_id)
SELECT 'org_' || lpad((o % {tenants})::text, 27, '0'), 5610000000000 + o,
       timestamptz '{start}' + (o::float8 / {orders}) * interval '{days} days',
       CASE WHEN o % {tenants} = 0 AND o % 3 = 0 THEN 'USD' ELSE 'CLP' END,
       CASE WHEN o % {tenants} = 0 AND o % 3 = 0 THEN (o % 300) + 0.99 ELSE 1000 * (1 + o % 97) END,
       CASE WHEN o % 25 = 0 THEN 'voided' ELSE 'paid' END,
       CASE WHEN o % 25 = 0 THEN timestamptz '{start}' + (o::float8 / {orders}) * interval '{days} days'
            + interval '3 hours' END,
       NULL, 7300000000 + o % 50000
FROM generate_series(0, {orders} - 1) o;

INSERT INTO order_line_items (tenant_id, order_id, id, product_id, title, quantity, price, order_created_at,
                              order_cancelled_at)
SELECT o.tenant_id, o.id, 14200000000000 + (o.id - 5610000000000) * 4 + k, 8100000000 + (o.id * 7 + k) % 30,
       'Product ' || ((o.id * 7 + k) % 30), 1 + (o.id + k) % 3, 1000, o.created_at, o.cancelled_at
FROM orders o, generate_series(0, (o.id % 4)::int) k;

SET session_replication_role = DEFAULT;
"""

_CHATWOOT = """
INSERT INTO accounts (id, name, created_at, updated_at) SELECT a, 'Shop ' || a, now(), now()
FROM generate_series(1, 4) a;
INSERT INTO users (id, uid, name, email, created_at, updated_at)
SELECT u, 'agent' || u || '@example.cl', 'Agent ' || u, 'agent' || u || '@example.cl', now(), now()
FROM generate_series(1, 24) u;
INSERT INTO inboxes (id, channel_id, account_id, name, created_at, updated_at, channel_type)
SELECT i, i, 1 + (i - 1) / 4,
       (ARRAY['WhatsApp Ventas', 'WhatsApp Soporte', 'Chat web', 'Correo'])[1 + (i - 1) % 4],
       now(), now(), 'Channel::Whatsapp'
FROM generate_series(1, 16) i;

INSERT INTO conversations (id, account_id, inbox_id, status, assignee_id, created_at, updated_at, contact_id,
                           display_id, last_activity_at, first_reply_created_at)
SELECT c, 1 + (c % 16) / 4, 1 + c % 16, CASE WHEN c % 5 = 0 THEN 0 ELSE 1 END, 1 + c % 24, t0,
       t0 + interval '3 hours', 9000 + c % 50000, c, now(), t0 + interval '7 minutes'
FROM generate_series(1, {conversations}) c,
     LATERAL (SELECT timestamp '{start}' + (c::float8 / {conversations}) * interval '{days} days' AS t0) AS b;

INSERT INTO messages (id, content, account_id, inbox_id, conversation_id, message_type, created_at,
                      updated_at, private, sender_type, sender_id)
SELECT (c - 1) * 8 + m + 1, 'hola', 1 + (c % 16) / 4, 1 + c % 16, c, CASE WHEN m % 2 = 0 THEN 0 ELSE 1 END,
       t0 + m * interval '9 minutes', now(), m = 7, CASE WHEN m % 2 = 0 THEN 'Contact' ELSE 'User' END,
       CASE WHEN m % 2 = 0 THEN 9000 + c % 50000 ELSE 1 + c % 24 END
FROM generate_series(1, {conversations}) c, generate_series(0, 7) m,
     LATERAL (SELECT timestamp '{start}' + (c::float8 / {conversations}) * interval '{days} days' AS t0) AS b;

INSERT INTO reporting_events (name, value, account_id, inbox_id, user_id, conversation_id, created_at,
                              updated_at, value_in_business_hours, event_start_time, event_end_time)
SELECT e.name, e.seconds, 1 + (c % 16) / 4, 1 + c % 16, 1 + c % 24, c, t0 + e.seconds * interval '1 second',
       now(), 0, t0, t0 + e.seconds * interval '1 second'
FROM generate_series(1, {conversations}) c,
     LATERAL (SELECT timestamp '{start}' + (c::float8 / {conversations}) * interval '{days} days' AS t0) AS b,
     LATERAL (VALUES ('first_response', 60 + c % 900), ('conversation_resolved', 600 + c % 20000),
                     ('reply_time', 30 + c % 600)) AS e(name, seconds);
"""


def _fill(conn, template: str, **sizes: object) -> dict[str, float]:
    """Run the fill statements with the tables' secondary indexes dropped, then rebuild those indexes (what
    a bulk restore does: much faster than maintaining them row by row). Returns seconds per phase."""
    phases: dict[str, float] = {}
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND NOT i.indisprimary"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")  # names read from the catalog
    for statement in template.format(**sizes).split(";\n"):
        if "INSERT INTO " in statement:
            started = time.perf_counter()
            conn.execute(statement)
            table = statement.split("INSERT INTO ", 1)[1].split()[0]
            phases[table] = phases.get(table, 0.0) + time.perf_counter() - started
        elif statement.strip():
            conn.execute(statement)
    started = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        conn.execute(definition)
    phases["indexes"] = phases.get("indexes", 0.0) + time.perf_counter() - started
    return phases


def _median_ms(run, runs: int) -> float:
    run()  # warm: plan cache, buffers
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


_RAW_DAU = (
    "SELECT (occurred_at AT TIME ZONE 'UTC')::date, count(DISTINCT user_id) FROM user_events"
    " WHERE occurred_at >= %(start)s AND occurred_at < %(end)s GROUP BY 1"
)
_RAW_MAU = (
    "SELECT count(DISTINCT user_id) FROM user_events"
    " WHERE occurred_at >= %(end)s - interval '30 days' AND occurred_at < %(end)s"
)
_RAW_PRODUCTS = (
    "SELECT li.title, sum(li.quantity) FROM orders o"
    " JOIN order_line_items li ON li.tenant_id = o.tenant_id AND li.order_id = o.id"
    " WHERE o.cancelled_at IS NULL AND o.created_at >= %(start)s AND o.created_at < %(end)s GROUP BY 1"
)
#: The definitions on the raw tables for the same range (all tenants): no rollup, no copied order columns.
_RAW_BASELINES = {
    ("user-growth", "Daily active users"): _RAW_DAU,
    ("user-growth", "Monthly active users"): _RAW_MAU,
    ("commerce-analytics", "Products sold"): _RAW_PRODUCTS,
}


def build_data(server: str) -> dict[str, str]:
    """Create databases ``supabase`` and ``chatwoot`` on ``server`` and fill them; their DSNs."""
    from bench import _report
    from smarter_obs.db.postgres import migrate
    from smarter_obs.seed.chatwoot import create_chatwoot_schema
    from smarter_obs.sinks.postgres import connect

    start = END - timedelta(days=DAYS - 1)
    with connect(server) as conn:
        conn.execute("CREATE DATABASE supabase")
        conn.execute("CREATE DATABASE chatwoot")
    supabase = server.replace("/postgres?", "/supabase?")
    chatwoot = server.replace("/postgres?", "/chatwoot?")
    migrate(supabase)
    started = time.perf_counter()
    with connect(supabase) as conn:
        phases = _fill(
            conn, _SUPABASE, start=start, days=DAYS, tenants=TENANTS, profiles=PROFILES,
            active_per_day=max(1, EVENTS // (DAYS * 4)), checkouts=int(ORDERS * 1.6), orders=ORDERS,
        )  # fmt: skip
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # fixed table names
            for t in ("user_events", "user_activity_daily", "orders", "order_line_items", "checkouts")
        }
        rollup_ok = conn.execute(
            "SELECT (SELECT sum(events) FROM user_activity_daily) = (SELECT count(*) FROM user_events)"
        ).fetchone()[0]
    with connect(chatwoot) as conn:
        create_chatwoot_schema(conn)
        chat = _fill(conn, _CHATWOOT, start=start, days=DAYS, conversations=CONVERSATIONS)
    for dsn in (supabase, chatwoot):
        with connect(dsn) as conn:
            conn.execute("VACUUM ANALYZE")
    print(f"   data: {counts} + {CONVERSATIONS} conversations", flush=True)
    spent = "; ".join(
        f"{store}: "
        + ", ".join(f"{table} {seconds:.0f}" for table, seconds in timings.items() if seconds >= 0.5)
        for store, timings in (("supabase", phases), ("chatwoot", chat))
    )
    print(f"   generated in {time.perf_counter() - started:.0f} s (seconds per table: {spent})", flush=True)
    _report.check(counts["orders"] == ORDERS and counts["user_events"] >= EVENTS * 0.99, "row counts")
    _report.check(bool(rollup_ok), "user_activity_daily sums to user_events")
    return {"supabase": supabase, "chatwoot": chatwoot}


def measure(urls: dict[str, str], runs: int = RUNS) -> None:
    """Every Metabase card over the 90-day range: median, target and (where there is one) raw baseline."""
    from bench import _report
    from smarter_obs.dashboards import load_project, run_query
    from smarter_obs.dashboards.datasources import close_connections
    from smarter_obs.dashboards.timerange import TimeRange
    from smarter_obs.sinks.postgres import connect

    project = load_project(Path(__file__).resolve().parents[1])
    range_start = END - timedelta(days=RANGE_DAYS - 1)
    time_range = TimeRange.parse(range_start.isoformat(), END.isoformat())
    bounds = {"start": range_start, "end": END + timedelta(days=1)}
    try:
        for dashboard in project.for_target("metabase"):
            for panel in dashboard.panels:

                def run(dashboard=dashboard, panel=panel):
                    return run_query(project, dashboard, panel, time_range=time_range, datasources=urls)

                _report.check(len(run().rows) > 0, f"{dashboard.slug} › {panel.title} returns rows")
                ms = _median_ms(run, runs)
                baseline = ""
                raw = _RAW_BASELINES.get((dashboard.slug, panel.title))
                if raw:
                    with connect(urls["supabase"]) as conn:
                        raw_ms = _median_ms(lambda raw=raw: conn.execute(raw, bounds).fetchall(), 3)
                    baseline = f"raw tables {raw_ms:.0f} ms ({raw_ms / ms:.1f}× the card)"
                print(f"   {dashboard.slug} › {panel.title}: {ms:.1f} ms {baseline}", flush=True)
                _report.target(
                    f"{dashboard.slug} › {panel.title} (90 d)", f"{ms:.0f} ms", f"< {TARGET_MS:.0f} ms",
                    ms < TARGET_MS, baseline,
                )  # fmt: skip
    finally:
        close_connections()


def main() -> None:
    from smarter_obs.sinks.postgres import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="bench-metabase-") as tmp:
        try:
            measure(build_data(start_embedded(tmp)))
        finally:
            stop_embedded(tmp)


if __name__ == "__main__":
    main()
