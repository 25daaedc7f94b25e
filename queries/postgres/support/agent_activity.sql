{% import "postgres/_metabase.sql" as mb -%}
-- Agent activity, per agent: replies sent (outgoing, non-private messages sent by a user) and
-- conversations resolved (conversation_resolved reporting events of that user), in the range.
WITH replies AS (
    SELECT m.sender_id AS user_id, count(*) AS replies_sent
    FROM messages AS m
    WHERE m.message_type = 1
      AND NOT m.private
      AND m.sender_type = 'User'
      {{ mb.days("m.created_at") }}
      {{ mb.inbox_filter("m.inbox_id") }}
      {{ mb.account_filter("m.account_id") }}
    GROUP BY m.sender_id
),
resolutions AS (
    SELECT r.user_id, count(*) AS conversations_resolved
    FROM reporting_events AS r
    WHERE r.name = 'conversation_resolved'
      AND r.user_id IS NOT NULL
      {{ mb.days("r.created_at") }}
      {{ mb.inbox_filter("r.inbox_id") }}
      {{ mb.account_filter("r.account_id") }}
    GROUP BY r.user_id
)
SELECT
    u.name AS agent,
    coalesce(p.replies_sent, 0) AS replies_sent,
    coalesce(s.conversations_resolved, 0) AS conversations_resolved
FROM users AS u
LEFT JOIN replies AS p ON p.user_id = u.id
LEFT JOIN resolutions AS s ON s.user_id = u.id
WHERE p.user_id IS NOT NULL OR s.user_id IS NOT NULL
ORDER BY replies_sent DESC, conversations_resolved DESC, agent
