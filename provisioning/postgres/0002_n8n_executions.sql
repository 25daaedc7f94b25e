-- n8n executions, one row per (n8n instance, execution id), an exact copy of GET /api/v1/executions.
-- ids are kept as n8n sends them (strings); the collector compares execution ids numerically.
CREATE TABLE IF NOT EXISTS n8n_executions (
    instance          text        NOT NULL,
    id                text        NOT NULL,
    workflow_id       text        NOT NULL,
    status            text        NOT NULL,
    finished          boolean     NOT NULL,
    mode              text        NOT NULL,
    trigger_source    text        NOT NULL CHECK (trigger_source IN ('kafka', 'webhook', 'schedule', 'manual', 'other')),
    started_at        timestamptz,
    stopped_at        timestamptz,
    duration_ms       bigint,
    retry_of          text,
    retry_success_id  text,
    wait_till         timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, id)
);
COMMENT ON TABLE n8n_executions IS 'n8n workflow executions per instance (smarter-obs collect n8n)';
COMMENT ON COLUMN n8n_executions.duration_ms IS 'stopped_at - started_at in milliseconds; NULL until both are known';
COMMENT ON COLUMN n8n_executions.trigger_source IS 'kafka | webhook | schedule | manual | other, from mode and the workflow trigger nodes';
