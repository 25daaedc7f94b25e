{#- The N8N Automations dashboard's variables on n8n_executions (alias e). The variables' All value is
    the literal '__all', so "All" never expands to a long (or empty) IN list. -#}
{% macro execution_filters(alias='e') -%}
$__timeFilter({{ alias }}.started_at)
  AND ('__all' IN ($instance) OR {{ alias }}.instance IN ($instance))
  AND ('__all' IN ($workflow) OR {{ alias }}.workflow_id IN ($workflow))
{%- endmacro %}
