{% import "postgres/_metabase.sql" as mb -%}
-- Conversations per inbox: conversations created in the range per inbox, by their current status
-- (Chatwoot's enum: 0 open, 1 resolved, 2 pending, 3 snoozed).
SELECT
    i.name AS inbox,
    count(*) AS conversations,
    count(*) FILTER (WHERE c.status = 0) AS open,
    count(*) FILTER (WHERE c.status = 2) AS pending,
    count(*) FILTER (WHERE c.status = 3) AS snoozed,
    count(*) FILTER (WHERE c.status = 1) AS resolved
FROM conversations AS c
JOIN inboxes AS i ON i.id = c.inbox_id
WHERE true
  {{ mb.days("c.created_at") }}
  {{ mb.inbox_filter("c.inbox_id") }}
  {{ mb.account_filter("c.account_id") }}
GROUP BY i.name
ORDER BY conversations DESC, inbox
