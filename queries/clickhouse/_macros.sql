{#- Shared fragments of the ClickHouse queries (import with {% from "clickhouse/_macros.sql" import … %}). -#}

{#- The tool name exactly as mcp_tool_calls_1m_mv derives it (provisioning/clickhouse/0003). -#}
{% macro tool_name() -%}
if(SpanAttributes['gen_ai.tool.name'] != '', SpanAttributes['gen_ai.tool.name'], replaceRegexpOne(SpanName, '^(tools/call|execute_tool) ', ''))
{%- endmacro %}

{#- Spans that are tool calls, by name (MCP: "tools/call <tool>", GenAI: "execute_tool <tool>"): a
    LowCardinality column, so this costs nothing next to reading SpanAttributes. -#}
{% macro is_tool_call() -%}
(startsWith(SpanName, 'tools/call ') OR startsWith(SpanName, 'execute_tool '))
{%- endmacro %}

{#- MCP rows for a time series: per minute, or the 5-minute or hourly rollup when the interval is a whole
    number of those buckets (every interval Grafana picks from 5 minutes up is). The conditions are
    constants once expanded, so ClickHouse reads one table; merging t-digest states is what these panels
    cost, and the rollups hold 5 and 60 times fewer. -#}
{% macro mcp_series_source() -%}
(
    SELECT Minute, ServiceName, ToolName, SpanKind, Calls, Errors, DurationQuantiles
    FROM mcp_tool_calls_1m
    WHERE $__interval_s % 300 != 0
    UNION ALL
    SELECT Minute, ServiceName, ToolName, SpanKind, Calls, Errors, DurationQuantiles
    FROM mcp_tool_calls_5m
    WHERE $__interval_s % 300 = 0 AND $__interval_s % 3600 != 0
    UNION ALL
    SELECT Minute, ServiceName, ToolName, SpanKind, Calls, Errors, DurationQuantiles
    FROM mcp_tool_calls_1h
    WHERE $__interval_s % 3600 = 0
)
{%- endmacro %}

{#- MCP rows covering exactly the minutes of the range (from ≤ Minute ≤ to): its whole hours from the
    hourly rollup, the minutes before the first and after the last whole hour from mcp_tool_calls_1m. -#}
{% macro mcp_range_source() -%}
(
    SELECT Minute, ServiceName, ToolName, SpanKind, Calls, Errors, DurationQuantiles
    FROM mcp_tool_calls_1h
    WHERE Minute >= toStartOfHour(addSeconds($__fromTime, 3599))
      AND Minute < toStartOfHour(addSeconds($__toTime, 60))
    UNION ALL
    SELECT Minute, ServiceName, ToolName, SpanKind, Calls, Errors, DurationQuantiles
    FROM mcp_tool_calls_1m
    WHERE $__timeFilter(Minute)
      AND (Minute < toStartOfHour(addSeconds($__fromTime, 3599)) OR Minute >= toStartOfHour(addSeconds($__toTime, 60)))
)
{%- endmacro %}

{#- The MCP dashboard's variables applied to mcp_tool_calls_1m / otel_traces columns. -#}
{% macro mcp_filters(tool_column='ToolName') -%}
SpanKind = '${kind}'
  AND $__conditionalAll(ServiceName IN (${service:singlequote}), $service)
  AND $__conditionalAll({{ tool_column }} IN (${tool:singlequote}), $tool)
{%- endmacro %}

{#- The Event Stream Flow dashboard's topic variables (cluster, topic family, topic). -#}
{% macro topic_filters() -%}
$__conditionalAll(cluster IN (${cluster:singlequote}), $cluster)
  AND $__conditionalAll(startsWith(topic, '${family}.'), $family)
  AND $__conditionalAll(topic IN (${topic:singlequote}), $topic)
{%- endmacro %}

{% macro group_filter() -%}
$__conditionalAll(consumer_group IN (${consumer_group:singlequote}), $consumer_group)
{%- endmacro %}
