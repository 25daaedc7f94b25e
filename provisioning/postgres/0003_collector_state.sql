-- Per-collector, per-instance progress, written in the same transaction as the rows it describes.
CREATE TABLE IF NOT EXISTS collector_state (
    collector   text        NOT NULL,
    instance    text        NOT NULL,
    watermark   bigint,
    state       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collector, instance)
);
COMMENT ON COLUMN collector_state.watermark IS 'n8n: highest execution id such that every listed execution at or below it is stored';
COMMENT ON COLUMN collector_state.state IS 'n8n: {"walk": {"high", "low"} of an interrupted backfill, "gaps": {missing id: unix time by which it existed if ever}, "recheck": [originals of successful retries to re-read]}';
