"""Fixtures: started Grafana and Metabase test servers (failing the test on any schema violation), a
publish configuration pointing at them, and the compiled payloads of tests/publish/payloads.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smarter_obs.dashboards.publish import PublishConfig
from tests.fakes.grafana import FakeGrafana
from tests.fakes.metabase import FakeMetabase
from tests.publish import payloads as fixtures

GRAFANA_TOKEN = "glsa_test_admin"
METABASE_KEY = "mb_test_key"


@pytest.fixture
def grafana():
    with FakeGrafana() as server:
        server.add_datasource("smarter-obs-clickhouse", "ClickHouse", "grafana-clickhouse-datasource")
        yield server
    assert not server.validation_errors, (
        f"schema violations seen by the Grafana test server: {server.validation_errors}"
    )


@pytest.fixture
def metabase():
    with FakeMetabase() as server:
        yield server
    assert not server.validation_errors, (
        f"schema violations seen by the Metabase test server: {server.validation_errors}"
    )


@pytest.fixture
def config(grafana, metabase) -> PublishConfig:
    return PublishConfig(
        grafana_url=grafana.url,
        grafana_token=GRAFANA_TOKEN,
        metabase_url=metabase.url,
        metabase_api_key=METABASE_KEY,
        timeout=1.0,
        retries=3,
        backoff=0.01,
    )


@pytest.fixture
def env(grafana, metabase, monkeypatch) -> dict[str, str]:
    """The environment a CI job would set for `smarter-obs plan/publish` against the test servers."""
    values = {
        "GRAFANA_URL": grafana.url,
        "GRAFANA_TOKEN": GRAFANA_TOKEN,
        "METABASE_URL": metabase.url,
        "METABASE_API_KEY": METABASE_KEY,
        "SMARTER_OBS_PUBLISH_TIMEOUT": "1",
    }
    for name in ("SMARTER_OBS_CLICKHOUSE_URL", "SUPABASE_DB_URL", "METABASE_USER", "METABASE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def payloads():
    return fixtures.payloads()


def write_build(directory: Path, payloads) -> Path:
    """A build directory as `smarter-obs build` writes it."""
    for target in ("grafana", "metabase"):
        (directory / target).mkdir(parents=True, exist_ok=True)
        for slug, payload in getattr(payloads, target).items():
            (directory / target / f"{slug}.json").write_text(json.dumps(payload, indent=2))
    return directory


@pytest.fixture
def build_dir(tmp_path, payloads) -> Path:
    return write_build(tmp_path / "build", payloads)
