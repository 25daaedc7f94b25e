-- Services that made tool calls in the range (variable "service").
SELECT DISTINCT ServiceName
FROM mcp_tool_calls_1m
WHERE $__timeFilter(Minute)
ORDER BY ServiceName
