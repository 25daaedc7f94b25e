{% from "clickhouse/_macros.sql" import tool_name, is_tool_call %}
-- The slowest tool calls in the range, newest spans from otel_traces with their trace ids (the only
-- panel that reads raw spans: it needs one row per call).
SELECT
    Timestamp AS time,
    ServiceName AS service,
    {{ tool_name() }} AS tool,
    Duration / 1e6 AS duration_ms,
    StatusCode AS status,
    StatusMessage AS message,
    TraceId AS trace_id,
    SpanId AS span_id
FROM otel_traces
WHERE $__timeFilter(Timestamp)
  AND {{ is_tool_call() }}
  AND SpanKind = '${kind}'
  AND $__conditionalAll(ServiceName IN (${service:singlequote}), $service)
  AND $__conditionalAll(tool IN (${tool:singlequote}), $tool)
ORDER BY Duration DESC, Timestamp DESC
LIMIT {{ params.limit | default(20) }}
