-- Indexes for the "N8N Automations" dashboard (time range first, then the breakdowns) and for the
-- collector's re-read of unfinished executions.
CREATE INDEX IF NOT EXISTS n8n_executions_started_idx ON n8n_executions (started_at DESC);
CREATE INDEX IF NOT EXISTS n8n_executions_workflow_idx ON n8n_executions (instance, workflow_id, started_at DESC);
CREATE INDEX IF NOT EXISTS n8n_executions_status_idx ON n8n_executions (status, started_at DESC);
CREATE INDEX IF NOT EXISTS n8n_executions_trigger_idx ON n8n_executions (trigger_source, started_at DESC);
CREATE INDEX IF NOT EXISTS n8n_executions_unfinished_idx ON n8n_executions (instance)
    WHERE status IN ('new', 'running', 'waiting', 'unknown');
