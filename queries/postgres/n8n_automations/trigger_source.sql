{% from "postgres/n8n_automations/_filters.sql" import execution_filters %}
-- Executions per trigger source (the collector classifies them from mode and the workflow's trigger nodes).
SELECT
    CASE e.trigger_source
        WHEN 'kafka' THEN 'Kafka'
        WHEN 'webhook' THEN 'Webhook'
        WHEN 'schedule' THEN 'Schedule'
        WHEN 'manual' THEN 'Manual'
        ELSE 'Other'
    END AS trigger,
    count(*) AS executions
FROM n8n_executions e
WHERE {{ execution_filters() }}
GROUP BY 1
ORDER BY 2 DESC, 1
