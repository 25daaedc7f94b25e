{% from "postgres/n8n_automations/_filters.sql" import execution_filters %}
-- Executions per workflow in the range, with failures and the mean duration (ms), busiest first
-- (aggregated before the workflows' names are joined).
SELECT
    coalesce(w.name, s.workflow_id) AS workflow,
    s.instance,
    s.executions,
    s.failed,
    s.avg_ms
FROM
(
    SELECT
        e.instance,
        e.workflow_id,
        count(*) AS executions,
        count(*) FILTER (WHERE e.status IN ('error', 'crashed')) AS failed,
        avg(e.duration_ms)::float8 AS avg_ms
    FROM n8n_executions e
    WHERE {{ execution_filters() }}
    GROUP BY 1, 2
) AS s
LEFT JOIN n8n_workflows w ON w.instance = s.instance AND w.id = s.workflow_id
ORDER BY s.executions DESC, 1, 2
LIMIT 20
