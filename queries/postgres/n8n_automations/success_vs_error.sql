{% from "postgres/n8n_automations/_filters.sql" import execution_filters, time_bucket %}
-- Successful and failed executions per interval (failed: status error or crashed).
SELECT
    {{ time_bucket() }},
    count(*) FILTER (WHERE e.status = 'success') AS success,
    count(*) FILTER (WHERE e.status IN ('error', 'crashed')) AS error
FROM n8n_executions e
WHERE {{ execution_filters() }}
GROUP BY 1
ORDER BY 1
