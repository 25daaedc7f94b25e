{% from "postgres/n8n_automations/_filters.sql" import execution_filters, time_bucket %}
-- Execution duration p50 / p95 per interval, in milliseconds, of executions that stopped (one sort per
-- interval for both percentiles).
SELECT
    "time",
    q[1] AS p50,
    q[2] AS p95
FROM
(
    SELECT
        {{ time_bucket() }},
        percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY e.duration_ms) AS q
    FROM n8n_executions e
    WHERE {{ execution_filters() }}
      AND e.duration_ms IS NOT NULL
    GROUP BY 1
) AS buckets
ORDER BY 1
