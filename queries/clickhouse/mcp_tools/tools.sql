-- Tools called in the range by the selected services (variable "tool").
SELECT DISTINCT ToolName
FROM mcp_tool_calls_1m
WHERE $__timeFilter(Minute)
  AND $__conditionalAll(ServiceName IN (${service:singlequote}), $service)
ORDER BY ToolName
