-- Supabase exposes the public schema to the `anon` (and `authenticated`) roles through PostgREST and grants
-- them table privileges by default. Row-level security is enabled on every business table with no policy,
-- which already denies them every row; on Supabase the anon grants are also revoked. On a plain PostgreSQL
-- (no anon role) this is a no-op.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        REVOKE ALL ON TABLE tenants, profiles, user_events, user_activity_daily, checkouts, orders,
            order_line_items FROM anon;
    END IF;
END
$$;
