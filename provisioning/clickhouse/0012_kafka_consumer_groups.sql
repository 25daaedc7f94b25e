-- Consumer groups, one row per group per collection cycle.
-- state/members/coordinator come from DescribeGroups: '' / NULL where the broker cannot describe groups.
-- status: Burrow group status (OK, WARN, ERR, NOTFOUND); ERR when any partition is STOP, STALL or REWIND,
-- worst_partition_status says which. total_lag/max_lag sum and max the partitions' lag (committed only).
-- error: why the group could not be read this cycle ('' when it was), e.g. its coordinator timed out.
CREATE TABLE IF NOT EXISTS {{ database }}.kafka_consumer_groups{{ on_cluster }}
(
    `ts` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    `cluster` LowCardinality(String) CODEC(ZSTD(1)),
    `consumer_group` LowCardinality(String) CODEC(ZSTD(1)),
    `state` LowCardinality(String) CODEC(ZSTD(1)),
    `members` Nullable(UInt32) CODEC(ZSTD(1)),
    `coordinator` Nullable(Int32) CODEC(ZSTD(1)),
    `status` LowCardinality(String) CODEC(ZSTD(1)),
    `worst_partition_status` LowCardinality(String) CODEC(ZSTD(1)),
    `partitions` UInt32 CODEC(ZSTD(1)),
    `partitions_with_commit` UInt32 CODEC(ZSTD(1)),
    `total_lag` UInt64 CODEC(ZSTD(1)),
    `max_lag` UInt64 CODEC(ZSTD(1)),
    `max_lag_topic` LowCardinality(String) CODEC(ZSTD(1)),
    `max_lag_partition` Int32 CODEC(ZSTD(1)),
    `max_lag_seconds` Nullable(Float64) CODEC(ZSTD(1)),
    `error` String CODEC(ZSTD(1))
)
ENGINE = {{ engine('MergeTree') }}
PARTITION BY toDate(ts)
ORDER BY (cluster, consumer_group, ts)
{{ ttl('toDateTime(ts)') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
