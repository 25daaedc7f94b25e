{% from "clickhouse/_macros.sql" import mcp_filters %}
-- Share of calls per tool and interval whose span status is Error.
SELECT
    $__timeInterval(Minute) AS time,
    ToolName AS tool,
    sum(Errors) / sum(Calls) AS error_rate
FROM mcp_tool_calls_1m
WHERE $__timeFilter(Minute)
  AND {{ mcp_filters() }}
GROUP BY time, tool
ORDER BY time, tool
