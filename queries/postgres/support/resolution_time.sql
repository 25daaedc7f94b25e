{% import "postgres/_metabase.sql" as mb -%}
-- Resolution time, as Chatwoot defines it: the value of its conversation_resolved reporting events
-- (seconds from the conversation's creation to each resolution), per UTC day of the resolution.
SELECT
    r.created_at::date AS day,
    count(*) AS resolutions,
    avg(r.value) / 3600 AS avg_hours,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY r.value) / 3600 AS median_hours
FROM reporting_events AS r
WHERE r.name = 'conversation_resolved'
  {{ mb.days("r.created_at") }}
  {{ mb.inbox_filter("r.inbox_id") }}
  {{ mb.account_filter("r.account_id") }}
GROUP BY 1
ORDER BY 1
