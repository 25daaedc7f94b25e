"""The stock Collector configuration writes into the tables smarter-obs migrates, and owns no schema."""

from __future__ import annotations

from pathlib import Path

import yaml

from smarter_obs import settings
from smarter_obs.collectors.spans.rows import TABLE
from smarter_obs.db.clickhouse import render

CONFIG = Path(__file__).resolve().parents[2] / "provisioning" / "otel-collector" / "config.yaml"


def test_collector_clickhouse_exporter_targets_our_schema() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    exporter = config["exporters"]["clickhouse"]
    assert exporter["create_schema"] is False
    assert exporter["traces_table_name"] == TABLE
    assert exporter["database"] == (
        f"${{env:{settings.CLICKHOUSE_DATABASE.env}:-{settings.CLICKHOUSE_DATABASE.default}}}"
    )
    assert "password" in exporter and "${env:" in exporter["password"]  # secrets only from the environment
    assert any(f".{TABLE}" in m.sql and "CREATE TABLE" in m.sql for m in render(database="otel"))
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["exporters"] == ["clickhouse"] and pipeline["receivers"] == ["otlp"]
    for name in pipeline["processors"]:
        assert name in config["processors"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
