{% import "postgres/_metabase.sql" as mb -%}
-- Monthly active users: distinct users with an event in the 30 UTC days ending at the range end.
SELECT count(DISTINCT user_id) AS monthly_active_users
FROM user_activity_daily
WHERE day >= {{ mb.range_end() }} - 30
  AND day < {{ mb.range_end() }}
  {{ mb.tenant_filter("tenant_id") }}
