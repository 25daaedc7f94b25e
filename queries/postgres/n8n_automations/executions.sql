{% from "postgres/n8n_automations/_filters.sql" import execution_filters, time_bucket %}
-- Executions started per interval.
SELECT
    {{ time_bucket() }},
    count(*) AS executions
FROM n8n_executions e
WHERE {{ execution_filters() }}
GROUP BY 1
ORDER BY 1
