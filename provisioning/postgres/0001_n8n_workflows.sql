-- n8n workflows, one row per (n8n instance, workflow id), an exact copy of GET /api/v1/workflows
-- plus the trigger source derived from the workflow's enabled trigger nodes.
CREATE TABLE IF NOT EXISTS n8n_workflows (
    instance        text        NOT NULL,
    id              text        NOT NULL,
    name            text        NOT NULL,
    active          boolean     NOT NULL,
    is_archived     boolean,
    trigger_source  text        NOT NULL CHECK (trigger_source IN ('kafka', 'webhook', 'schedule', 'manual', 'other')),
    trigger_types   text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz,
    updated_at      timestamptz,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, id)
);
COMMENT ON TABLE n8n_workflows IS 'n8n workflows per instance (smarter-obs collect n8n)';
COMMENT ON COLUMN n8n_workflows.trigger_types IS 'node types of the enabled trigger nodes, raw, so the classification can be re-derived in SQL';
COMMENT ON COLUMN n8n_workflows.synced_at IS 'when the collector last inserted or changed this row';
