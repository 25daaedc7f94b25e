{% import "postgres/_metabase.sql" as mb -%}
-- Conversion rate: checkouts created in the range that were completed / checkouts created in the range.
SELECT
    count(completed_at)::float8 / nullif(count(*), 0) AS conversion_rate,
    count(completed_at) AS completed_checkouts,
    count(*) AS checkouts
FROM checkouts
WHERE true
  {{ mb.utc_days("created_at") }}
  {{ mb.tenant_filter("tenant_id") }}
