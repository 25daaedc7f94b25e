{% from "postgres/n8n_automations/_filters.sql" import execution_filters %}
-- Executions in the range, by outcome, and the error rate: failed / (succeeded + failed).
SELECT
    count(*) AS executions,
    count(*) FILTER (WHERE e.status = 'success') AS success,
    count(*) FILTER (WHERE e.status IN ('error', 'crashed')) AS error,
    count(*) FILTER (WHERE e.status NOT IN ('success', 'error', 'crashed')) AS other,
    count(*) FILTER (WHERE e.status IN ('error', 'crashed'))::float8
        / NULLIF(count(*) FILTER (WHERE e.status IN ('success', 'error', 'crashed')), 0) AS error_rate
FROM n8n_executions e
WHERE {{ execution_filters() }}
