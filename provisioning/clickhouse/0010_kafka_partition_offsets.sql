-- Kafka/Redpanda partitions, one row per partition per collection cycle (smarter-obs collect redpanda).
-- log_end_offset is the high watermark. `messages` is the end-offset delta since the partition's previous
-- row (its last stored sample), computed by the collector with counter resets handled (an end offset lower than before, i.e. a
-- recreated topic, counts the new end offset, as Prometheus increase() does); 0 on a partition's first
-- sample. Messages per topic and producer throughput are sums of it (see kafka_topic_messages and
-- kafka_topic_throughput_1m). leader = -1 when the partition has no leader.
CREATE TABLE IF NOT EXISTS {{ database }}.kafka_partition_offsets{{ on_cluster }}
(
    `ts` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    `cluster` LowCardinality(String) CODEC(ZSTD(1)),
    `topic` LowCardinality(String) CODEC(ZSTD(1)),
    `partition` UInt32 CODEC(ZSTD(1)),
    `leader` Int32 CODEC(ZSTD(1)),
    `replicas` Array(Int32) CODEC(ZSTD(1)),
    `isr` Array(Int32) CODEC(ZSTD(1)),
    `log_start_offset` Int64 CODEC(Delta, ZSTD(1)),
    `log_end_offset` Int64 CODEC(Delta, ZSTD(1)),
    `messages` UInt64 CODEC(ZSTD(1)),
    `interval_seconds` Float64 CODEC(ZSTD(1))
)
ENGINE = {{ engine('MergeTree') }}
PARTITION BY toDate(ts)
ORDER BY (cluster, topic, `partition`, ts)
{{ ttl('toDateTime(ts)') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
