-- One row per collection cycle of the Kafka/Redpanda collector, including failed ones: a cycle that could
-- not reach the cluster is ok = false with the error, so an outage is a visible gap, not missing data.
CREATE TABLE IF NOT EXISTS {{ database }}.kafka_collector_cycles{{ on_cluster }}
(
    `ts` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    `cluster` LowCardinality(String) CODEC(ZSTD(1)),
    `bootstrap` String CODEC(ZSTD(1)),
    `ok` Bool CODEC(ZSTD(1)),
    `error` String CODEC(ZSTD(1)),
    `duration_ms` Float64 CODEC(ZSTD(1)),
    `partitions` UInt32 CODEC(ZSTD(1)),
    `partitions_failed` UInt32 CODEC(ZSTD(1)),
    `groups` UInt32 CODEC(ZSTD(1)),
    `groups_failed` UInt32 CODEC(ZSTD(1)),
    `lag_rows` UInt32 CODEC(ZSTD(1))
)
ENGINE = {{ engine('MergeTree') }}
PARTITION BY toDate(ts)
ORDER BY (cluster, ts)
{{ ttl('toDateTime(ts)') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
