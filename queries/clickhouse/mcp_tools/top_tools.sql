{% from "clickhouse/_macros.sql" import mcp_filters, mcp_range_source %}
-- The ten most called tools in the range, with their error rate and p95 latency (ms).
SELECT
    ToolName AS tool,
    sum(Calls) AS calls,
    sum(Errors) / calls AS error_rate,
    quantileTDigestMerge(0.95)(DurationQuantiles) / 1e6 AS p95_ms
FROM {{ mcp_range_source() }}
WHERE {{ mcp_filters() }}
GROUP BY tool
ORDER BY calls DESC, tool
LIMIT 10
