{% from "clickhouse/_macros.sql" import group_filter %}
-- Consumer groups as the collector last saw them in the range (Burrow-style status: OK, WARN, ERR with
-- the worst partition status STOP / STALL / REWIND, NOTFOUND without commits), worst first.
SELECT
    consumer_group,
    status,
    worst_partition_status,
    total_lag,
    max_lag,
    max_lag_topic,
    max_lag_seconds,
    partitions,
    partitions_with_commit,
    state,
    members,
    error,
    ts AS last_seen
FROM
(
    SELECT *
    FROM kafka_consumer_groups
    WHERE $__timeFilter(ts)
      AND $__conditionalAll(cluster IN (${cluster:singlequote}), $cluster)
      AND {{ group_filter() }}
    ORDER BY consumer_group, ts DESC
    LIMIT 1 BY consumer_group
)
ORDER BY multiIf(status = 'ERR', 0, status = 'WARN', 1, status = 'NOTFOUND', 2, 3), total_lag DESC, consumer_group
