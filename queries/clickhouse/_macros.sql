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
