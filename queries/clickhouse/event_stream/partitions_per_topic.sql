{% from "clickhouse/event_stream/_latest_partitions.sql" import latest_partitions %}
-- Partitions per topic and how many of them each broker leads, from the latest sample in the range.
SELECT
    topic,
    count() AS partitions,
    uniqExact(leader) AS leaders,
    countIf(leader < 0) AS without_leader
FROM ({{ latest_partitions() }})
GROUP BY topic
ORDER BY topic
