{% from "clickhouse/_macros.sql" import mcp_filters, mcp_series_source %}
-- Share of calls per tool and interval whose span status is Error.
SELECT
    $__timeInterval(Minute) AS time,
    ToolName AS tool,
    sum(Errors) / sum(Calls) AS error_rate
FROM {{ mcp_series_source() }}
WHERE $__timeFilter(Minute)
  AND {{ mcp_filters() }}
GROUP BY time, tool
ORDER BY time, tool
