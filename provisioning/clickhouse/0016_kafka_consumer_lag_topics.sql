-- Consumer lag per group and topic at every collection cycle (the "Consumer lag" and "Consumer lag in
-- seconds" panels), aggregated from kafka_consumer_lag as the collector writes it: one insert per cycle, so
-- each row is one cycle's partitions of a topic. Read with sum(lag), max(max_lag_seconds) GROUP BY ts,
-- cluster, consumer_group, topic (rows merge lazily). 4,000 group-partitions sampled every 30 s are 11.5M
-- partition rows a day; here they are one row per group and topic, about a hundred times fewer.
-- lag sums the partitions with a commit (a partition without one has no lag); partitions_with_commit = 0
-- means the group never committed on that topic.
CREATE TABLE IF NOT EXISTS {{ database }}.kafka_consumer_lag_topics{{ on_cluster }}
(
    `ts` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    `cluster` LowCardinality(String) CODEC(ZSTD(1)),
    `consumer_group` LowCardinality(String) CODEC(ZSTD(1)),
    `topic` LowCardinality(String) CODEC(ZSTD(1)),
    `partitions` SimpleAggregateFunction(sum, UInt64),
    `partitions_with_commit` SimpleAggregateFunction(sum, UInt64),
    `lag` SimpleAggregateFunction(sum, Int64),
    `max_lag_seconds` SimpleAggregateFunction(max, Nullable(Float64))
)
ENGINE = {{ engine('AggregatingMergeTree') }}
PARTITION BY toDate(ts)
ORDER BY (cluster, consumer_group, topic, ts)
{{ ttl('toDateTime(ts)') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ database }}.kafka_consumer_lag_topics_mv{{ on_cluster }}
TO {{ database }}.kafka_consumer_lag_topics
AS SELECT
    ts,
    cluster,
    consumer_group,
    topic,
    toUInt64(count()) AS partitions,
    toUInt64(countIf(has_commit)) AS partitions_with_commit,
    toInt64(sum(ifNull(lag, 0))) AS lag,
    max(lag_seconds) AS max_lag_seconds
FROM {{ database }}.kafka_consumer_lag
GROUP BY ts, cluster, consumer_group, topic;
