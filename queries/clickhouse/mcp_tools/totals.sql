{% from "clickhouse/_macros.sql" import mcp_filters %}
-- Calls, errors and error rate over the whole range (stat panels).
SELECT
    sum(Calls) AS calls,
    sum(Errors) AS errors,
    if(calls > 0, errors / calls, NULL) AS error_rate
FROM mcp_tool_calls_1m
WHERE $__timeFilter(Minute)
  AND {{ mcp_filters() }}
