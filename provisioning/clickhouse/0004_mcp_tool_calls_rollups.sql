-- MCP tool calls per 5 minutes and per hour, rolled up from mcp_tool_calls_1m (a materialized view on it:
-- every insert into the per-minute table, itself a view of otel_traces, is aggregated once more). Same
-- columns as mcp_tool_calls_1m; `Minute` is the first minute of the bucket. Dashboards read the coarsest
-- table whose bucket the query's interval is a multiple of: merging t-digest states costs a few
-- microseconds each, and a day of 24 tools on 3 services is ~100,000 minute states but ~1,700 hourly ones.
-- Read like mcp_tool_calls_1m: sum(Calls), sum(Errors), quantilesTDigestMerge(...)(DurationQuantiles).
CREATE TABLE IF NOT EXISTS {{ database }}.mcp_tool_calls_5m{{ on_cluster }}
(
    `Minute` DateTime CODEC(Delta, ZSTD(1)),
    `ServiceName` LowCardinality(String) CODEC(ZSTD(1)),
    `ToolName` LowCardinality(String) CODEC(ZSTD(1)),
    `SpanKind` LowCardinality(String) CODEC(ZSTD(1)),
    `Calls` SimpleAggregateFunction(sum, UInt64),
    `Errors` SimpleAggregateFunction(sum, UInt64),
    `DurationSum` SimpleAggregateFunction(sum, UInt64),
    `DurationMax` SimpleAggregateFunction(max, UInt64),
    `DurationQuantiles` AggregateFunction(quantileTDigest, UInt64)
)
ENGINE = {{ engine('AggregatingMergeTree') }}
PARTITION BY toDate(Minute)
ORDER BY (ServiceName, ToolName, SpanKind, Minute)
{{ ttl('Minute') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ database }}.mcp_tool_calls_5m_mv{{ on_cluster }}
TO {{ database }}.mcp_tool_calls_5m
AS SELECT
    toStartOfFiveMinutes(Minute) AS Minute,
    ServiceName,
    ToolName,
    SpanKind,
    sum(Calls) AS Calls,
    sum(Errors) AS Errors,
    sum(DurationSum) AS DurationSum,
    max(DurationMax) AS DurationMax,
    quantileTDigestMergeState(DurationQuantiles) AS DurationQuantiles
FROM {{ database }}.mcp_tool_calls_1m
GROUP BY Minute, ServiceName, ToolName, SpanKind;

CREATE TABLE IF NOT EXISTS {{ database }}.mcp_tool_calls_1h{{ on_cluster }}
(
    `Minute` DateTime CODEC(Delta, ZSTD(1)),
    `ServiceName` LowCardinality(String) CODEC(ZSTD(1)),
    `ToolName` LowCardinality(String) CODEC(ZSTD(1)),
    `SpanKind` LowCardinality(String) CODEC(ZSTD(1)),
    `Calls` SimpleAggregateFunction(sum, UInt64),
    `Errors` SimpleAggregateFunction(sum, UInt64),
    `DurationSum` SimpleAggregateFunction(sum, UInt64),
    `DurationMax` SimpleAggregateFunction(max, UInt64),
    `DurationQuantiles` AggregateFunction(quantileTDigest, UInt64)
)
ENGINE = {{ engine('AggregatingMergeTree') }}
PARTITION BY toDate(Minute)
ORDER BY (ServiceName, ToolName, SpanKind, Minute)
{{ ttl('Minute') }}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ database }}.mcp_tool_calls_1h_mv{{ on_cluster }}
TO {{ database }}.mcp_tool_calls_1h
AS SELECT
    toStartOfHour(Minute) AS Minute,
    ServiceName,
    ToolName,
    SpanKind,
    sum(Calls) AS Calls,
    sum(Errors) AS Errors,
    sum(DurationSum) AS DurationSum,
    max(DurationMax) AS DurationMax,
    quantileTDigestMergeState(DurationQuantiles) AS DurationQuantiles
FROM {{ database }}.mcp_tool_calls_1m
GROUP BY Minute, ServiceName, ToolName, SpanKind;
