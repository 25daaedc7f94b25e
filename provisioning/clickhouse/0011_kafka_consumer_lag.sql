-- Consumer lag, one row per consumer group x topic partition per collection cycle.
-- committed_offset is NULL when the group never committed on the partition (has_commit = false); lag is
-- then NULL too (never -1 or NaN, so sum()/max() stay right). lag = max(log_end_offset - committed, 0).
-- retained_lag = max(log_end_offset - max(committed, log_start_offset), 0): what is still readable, safe
-- against retention having deleted past the commit; for a partition without a commit it is
-- log_end_offset - log_start_offset (what the group reads with auto.offset.reset=earliest).
-- lag_seconds: how long ago the log end was at the committed offset, interpolated over the partition's
-- end-offset history (kafka-lag-exporter method); NULL when the history cannot tell yet.
-- status: Burrow-style partition status over a sliding window (OK, WARN, STOP, STALL, REWIND, NOTFOUND).
-- client_id/host: the member the partition is assigned to, where the broker can describe groups.
CREATE TABLE IF NOT EXISTS {{ database }}.kafka_consumer_lag{{ on_cluster }}
(
    `ts` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    `cluster` LowCardinality(String) CODEC(ZSTD(1)),
    `consumer_group` LowCardinality(String) CODEC(ZSTD(1)),
    `topic` LowCardinality(String) CODEC(ZSTD(1)),
    `partition` UInt32 CODEC(ZSTD(1)),
    `committed_offset` Nullable(Int64) CODEC(ZSTD(1)),
    `has_commit` Bool CODEC(ZSTD(1)),
    `log_end_offset` Int64 CODEC(Delta, ZSTD(1)),
    `lag` Nullable(Int64) CODEC(ZSTD(1)),
    `retained_lag` Int64 CODEC(ZSTD(1)),
    `lag_seconds` Nullable(Float64) CODEC(ZSTD(1)),
    `status` LowCardinality(String) CODEC(ZSTD(1)),
    `client_id` LowCardinality(String) CODEC(ZSTD(1)),
    `host` LowCardinality(String) CODEC(ZSTD(1))
)
ENGINE = {{ engine('MergeTree') }}
PARTITION BY toDate(ts)
ORDER BY (cluster, consumer_group, topic, `partition`, ts)
{{ ttl('toDateTime(ts)') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
