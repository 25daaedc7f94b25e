{% import "postgres/_metabase.sql" as mb -%}
-- Daily signups: profiles created per UTC day.
SELECT
    (created_at AT TIME ZONE 'UTC')::date AS day,
    count(*) AS signups
FROM profiles
WHERE true
  {{ mb.utc_days("created_at") }}
  {{ mb.tenant_filter("tenant_id") }}
GROUP BY 1
ORDER BY 1
