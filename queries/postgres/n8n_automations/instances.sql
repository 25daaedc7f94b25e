-- n8n instances the collector has copied (variable "instance").
SELECT DISTINCT instance
FROM n8n_workflows
ORDER BY instance
