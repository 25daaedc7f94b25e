{% from "clickhouse/_macros.sql" import mcp_filters, mcp_series_source %}
-- Tool calls per minute: calls in each interval divided by the interval's length in minutes.
SELECT
    $__timeInterval(Minute) AS time,
    ToolName AS tool,
    sum(Calls) / ($__interval_s / 60) AS calls_per_minute
FROM {{ mcp_series_source() }}
WHERE $__timeFilter(Minute)
  AND {{ mcp_filters() }}
GROUP BY time, tool
ORDER BY time, tool
