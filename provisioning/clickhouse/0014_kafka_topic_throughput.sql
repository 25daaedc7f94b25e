-- Producer throughput per topic: records produced per minute, summed from the end-offset deltas that the
-- collector stores per partition sample (counter resets already handled there). Read with
-- sum(messages) GROUP BY cluster, topic, minute (rows merge lazily), or use kafka_topic_throughput.
CREATE TABLE IF NOT EXISTS {{ database }}.kafka_topic_throughput_1m{{ on_cluster }}
(
    `minute` DateTime('UTC') CODEC(Delta, ZSTD(1)),
    `cluster` LowCardinality(String) CODEC(ZSTD(1)),
    `topic` LowCardinality(String) CODEC(ZSTD(1)),
    `messages` SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{ engine('AggregatingMergeTree') }}
PARTITION BY toDate(minute)
ORDER BY (cluster, topic, minute)
{{ ttl('minute') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ database }}.kafka_topic_throughput_1m_mv{{ on_cluster }}
TO {{ database }}.kafka_topic_throughput_1m
AS SELECT
    toStartOfMinute(ts) AS minute,
    cluster,
    topic,
    sum(messages) AS messages
FROM {{ database }}.kafka_partition_offsets
GROUP BY minute, cluster, topic;

-- Records per minute and per second for each topic (the "producer throughput" panel).
CREATE VIEW IF NOT EXISTS {{ database }}.kafka_topic_throughput{{ on_cluster }}
AS SELECT
    minute,
    cluster,
    topic,
    sum(messages) AS messages,
    messages / 60 AS messages_per_second
FROM {{ database }}.kafka_topic_throughput_1m
GROUP BY minute, cluster, topic;
