{% from "clickhouse/_macros.sql" import mcp_filters, mcp_range_source %}
-- Calls, errors and error rate over the whole range (stat panels).
SELECT
    sum(Calls) AS calls,
    sum(Errors) AS errors,
    if(calls > 0, errors / calls, NULL) AS error_rate
FROM {{ mcp_range_source() }}
WHERE {{ mcp_filters() }}
