-- Messages per topic at every collection cycle (the "messages per topic" panel): records produced since
-- the previous cycle and the rate over that interval, plus the sum of end offsets and the records still
-- retained (end - log start). Partitions sampled for the first time contribute 0 produced records.
CREATE VIEW IF NOT EXISTS {{ database }}.kafka_topic_messages{{ on_cluster }}
AS SELECT
    ts,
    cluster,
    topic,
    count() AS partitions,
    sum(messages) AS messages,
    if(max(interval_seconds) > 0, messages / max(interval_seconds), NULL) AS messages_per_second,
    sum(log_end_offset) AS end_offset_sum,
    sum(log_end_offset - log_start_offset) AS retained_messages
FROM {{ database }}.kafka_partition_offsets
GROUP BY ts, cluster, topic;

-- The latest sample of every partition: leaders, replicas, offsets (the "partition distribution" panel,
-- e.g. SELECT leader, count() FROM kafka_partitions_latest GROUP BY leader).
CREATE VIEW IF NOT EXISTS {{ database }}.kafka_partitions_latest{{ on_cluster }}
AS SELECT
    cluster,
    topic,
    `partition`,
    max(ts) AS last_seen,
    argMax(leader, ts) AS leader,
    argMax(replicas, ts) AS replicas,
    argMax(isr, ts) AS isr,
    argMax(log_start_offset, ts) AS log_start_offset,
    argMax(log_end_offset, ts) AS log_end_offset
FROM {{ database }}.kafka_partition_offsets
GROUP BY cluster, topic, `partition`;
