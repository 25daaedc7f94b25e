{% from "postgres/n8n_automations/_filters.sql" import execution_filters %}
-- Execution duration p50 / p95 per interval, in milliseconds, of executions that stopped.
SELECT
    $__timeGroupAlias(e.started_at, $__interval),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY e.duration_ms) AS p50,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY e.duration_ms) AS p95
FROM n8n_executions e
WHERE {{ execution_filters() }}
  AND e.duration_ms IS NOT NULL
GROUP BY 1
ORDER BY 1
