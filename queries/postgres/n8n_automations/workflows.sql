-- Workflows of the selected instances (variable "workflow": id as value, name as text).
SELECT DISTINCT w.id AS __value, w.name AS __text
FROM n8n_workflows w
WHERE ('__all' IN ($instance) OR w.instance IN ($instance))
ORDER BY 2, 1
