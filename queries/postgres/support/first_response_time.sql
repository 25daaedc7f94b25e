{% import "postgres/_metabase.sql" as mb -%}
-- First response time, as Chatwoot defines it: the value of its first_response reporting events (seconds
-- from the last non-human activity, the bot hand-off or the conversation's creation, to the first agent
-- reply), per UTC day of the event.
SELECT
    r.created_at::date AS day,
    count(*) AS first_responses,
    avg(r.value) / 60 AS avg_minutes,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY r.value) / 60 AS median_minutes
FROM reporting_events AS r
WHERE r.name = 'first_response'
  {{ mb.days("r.created_at") }}
  {{ mb.inbox_filter("r.inbox_id") }}
  {{ mb.account_filter("r.account_id") }}
GROUP BY 1
ORDER BY 1
