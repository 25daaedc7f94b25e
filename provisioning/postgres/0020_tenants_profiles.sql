-- SmarterOS business schema (Supabase), part 1: tenants and their users, synced from Clerk.
-- Every business table carries tenant_id and has row-level security enabled with no policy: only roles
-- that bypass RLS (the table owner, Supabase's service_role, a BYPASSRLS reporting role) read them.
CREATE TABLE IF NOT EXISTS tenants (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL
);
COMMENT ON TABLE tenants IS 'SmarterOS tenants (one business each); every business table has a tenant_id';
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS profiles (
    id                       text        PRIMARY KEY CHECK (id ~ '^user_'),
    tenant_id                text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email                    text,
    created_at               timestamptz NOT NULL,
    onboarding_completed_at  timestamptz,
    deleted_at               timestamptz
);
COMMENT ON TABLE profiles IS 'Clerk users, one row per user (signup = created_at)';
COMMENT ON COLUMN profiles.id IS 'Clerk user id (user_…)';
COMMENT ON COLUMN profiles.onboarding_completed_at IS 'when the user finished onboarding; NULL while not finished';
COMMENT ON COLUMN profiles.deleted_at IS 'when the Clerk user was deleted (the row is kept for history)';
-- "Daily signups" and "Onboarding completion": profiles created in a range, for all tenants or one.
CREATE INDEX IF NOT EXISTS profiles_created_idx ON profiles (created_at) INCLUDE (onboarding_completed_at);
CREATE INDEX IF NOT EXISTS profiles_tenant_created_idx ON profiles (tenant_id, created_at) INCLUDE (onboarding_completed_at);
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
