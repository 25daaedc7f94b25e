-- Trace id → time range lookup that Grafana's trace view reads before fetching a trace's spans
-- (traces_id_ts_lookup_table.sql / traces_id_ts_lookup_mv.sql). The view aggregates per inserted block,
-- so a trace can have several rows here; readers take min(Start) / max(End).
CREATE TABLE IF NOT EXISTS {{ database }}.otel_traces_trace_id_ts{{ on_cluster }}
(
    `TraceId` String CODEC(ZSTD(1)),
    `Start` DateTime CODEC(Delta, ZSTD(1)),
    `End` DateTime CODEC(Delta, ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = {{ engine('MergeTree') }}
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
{{ ttl('toDateTime(Start)') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ database }}.otel_traces_trace_id_ts_mv{{ on_cluster }}
TO {{ database }}.otel_traces_trace_id_ts
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM {{ database }}.otel_traces
WHERE TraceId != ''
GROUP BY TraceId;
