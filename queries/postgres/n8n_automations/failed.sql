{% from "postgres/n8n_automations/_filters.sql" import execution_filters %}
-- The latest failed executions (status error or crashed), newest first.
SELECT
    e.started_at AS started,
    e.instance,
    coalesce(w.name, e.workflow_id) AS workflow,
    e.id AS execution,
    e.status,
    e.mode,
    e.trigger_source AS trigger,
    e.duration_ms,
    e.retry_of
FROM n8n_executions e
LEFT JOIN n8n_workflows w ON w.instance = e.instance AND w.id = e.workflow_id
WHERE {{ execution_filters() }}
  AND e.status IN ('error', 'crashed')
ORDER BY e.started_at DESC, e.id DESC
LIMIT {{ params.limit | default(20) }}
