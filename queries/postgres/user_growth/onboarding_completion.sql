{% import "postgres/_metabase.sql" as mb -%}
-- Onboarding completion: the share of profiles created in the range with onboarding_completed_at set.
SELECT
    count(onboarding_completed_at)::float8 / nullif(count(*), 0) AS onboarding_completion,
    count(onboarding_completed_at) AS onboarded_profiles,
    count(*) AS profiles
FROM profiles
WHERE true
  {{ mb.utc_days("created_at") }}
  {{ mb.tenant_filter("tenant_id") }}
