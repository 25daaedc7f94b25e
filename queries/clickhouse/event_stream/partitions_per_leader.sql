{% from "clickhouse/event_stream/_latest_partitions.sql" import latest_partitions %}
-- Partitions per leader broker, from each partition's latest sample in the range (-1: no leader).
SELECT
    if(leader < 0, 'no leader', concat('broker ', toString(leader))) AS broker,
    count() AS partitions
FROM ({{ latest_partitions() }})
GROUP BY leader
ORDER BY leader
