{% from "postgres/n8n_automations/_filters.sql" import execution_filters %}
-- Executions started per interval.
SELECT
    $__timeGroupAlias(e.started_at, $__interval),
    count(*) AS executions
FROM n8n_executions e
WHERE {{ execution_filters() }}
GROUP BY 1
ORDER BY 1
