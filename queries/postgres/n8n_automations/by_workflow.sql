{% from "postgres/n8n_automations/_filters.sql" import execution_filters %}
-- Executions per workflow in the range, with failures and p95 duration (ms), busiest first.
SELECT
    coalesce(w.name, e.workflow_id) AS workflow,
    e.instance,
    count(*) AS executions,
    count(*) FILTER (WHERE e.status IN ('error', 'crashed')) AS failed,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY e.duration_ms) AS p95_ms
FROM n8n_executions e
LEFT JOIN n8n_workflows w ON w.instance = e.instance AND w.id = e.workflow_id
WHERE {{ execution_filters() }}
GROUP BY 1, 2
ORDER BY 3 DESC, 1
LIMIT 20
