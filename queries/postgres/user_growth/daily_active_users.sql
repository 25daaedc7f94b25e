{% import "postgres/_metabase.sql" as mb -%}
-- Daily active users: distinct users with at least one user_events row per UTC day
-- (user_activity_daily holds one row per user and UTC day with an event, kept by triggers).
SELECT
    day,
    count(DISTINCT user_id) AS active_users
FROM user_activity_daily
WHERE true
  {{ mb.days("day") }}
  {{ mb.tenant_filter("tenant_id") }}
GROUP BY day
ORDER BY day
