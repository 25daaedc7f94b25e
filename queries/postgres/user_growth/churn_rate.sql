{% import "postgres/_metabase.sql" as mb -%}
-- Churn rate: of the users active in the 30 days before the last 30 days, the share with no event in the
-- last 30 days; both windows end at the range end.
WITH activity AS (
    SELECT
        user_id,
        bool_or(day < {{ mb.range_end() }} - 30) AS active_before,
        bool_or(day >= {{ mb.range_end() }} - 30) AS active_last_30_days
    FROM user_activity_daily
    WHERE day >= {{ mb.range_end() }} - 60
      AND day < {{ mb.range_end() }}
      {{ mb.tenant_filter("tenant_id") }}
    GROUP BY user_id
)
SELECT
    count(*) FILTER (WHERE active_before AND NOT active_last_30_days)::float8
        / nullif(count(*) FILTER (WHERE active_before), 0) AS churn_rate,
    count(*) FILTER (WHERE active_before AND NOT active_last_30_days) AS churned_users,
    count(*) FILTER (WHERE active_before) AS previously_active_users
FROM activity
