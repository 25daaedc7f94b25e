-- MCP tool calls pre-aggregated per minute, so tool dashboards stay fast at hundreds of millions of spans.
-- A tool call is a span with mcp.method.name = 'tools/call' (MCP semantic conventions) or
-- gen_ai.operation.name = 'execute_tool' (GenAI tool spans). SpanKind is part of the key because client
-- and server both trace the same call: dashboards of the tool server filter SpanKind = 'Server'.
-- Read with sum(Calls), sum(Errors), sum(DurationSum)/sum(Calls), max(DurationMax) and
-- quantilesTDigestMerge(0.5, 0.95, 0.99)(DurationQuantiles) (nanoseconds), grouped as needed.
CREATE TABLE IF NOT EXISTS {{ database }}.mcp_tool_calls_1m{{ on_cluster }}
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

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ database }}.mcp_tool_calls_1m_mv{{ on_cluster }}
TO {{ database }}.mcp_tool_calls_1m
AS SELECT
    toStartOfMinute(Timestamp) AS Minute,
    ServiceName,
    if(SpanAttributes['gen_ai.tool.name'] != '', SpanAttributes['gen_ai.tool.name'],
       replaceRegexpOne(SpanName, '^(tools/call|execute_tool) ', '')) AS ToolName,
    SpanKind,
    count() AS Calls,
    countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS Errors,
    sum(Duration) AS DurationSum,
    max(Duration) AS DurationMax,
    quantileTDigestState(Duration) AS DurationQuantiles
FROM {{ database }}.otel_traces
WHERE SpanAttributes['mcp.method.name'] = 'tools/call'
   OR SpanAttributes['gen_ai.operation.name'] = 'execute_tool'
GROUP BY Minute, ServiceName, ToolName, SpanKind;
