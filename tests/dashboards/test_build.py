"""``build``: Grafana dashboard JSON that validates against the dashboard JSON schema (kept in tests/specs),
targets of the shape each plugin reads, and Grafana's file provisioning without a secret in it."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from smarter_obs.dashboards import compile_dashboard, load_project
from smarter_obs.dashboards.compile import write_build
from tests.dashboards.conftest import REPO

SCHEMA = REPO / "tests/specs/grafana-foundation-sdk/jsonschema/dashboard.jsonschema.json"


def dashboard_schema() -> dict:
    """The published schema, with its three known false positives relaxed: fields CUE declares as any
    value (``_``) came out as ``"type": "object"`` in the generated JSON schema, yet Grafana (and the SDK
    itself) write strings and numbers there: a byName matcher's options (the field name), an override
    property's value (a unit, a number), and a plugin variable's query object (string values)."""
    schema = json.loads(SCHEMA.read_text())
    definitions = schema["definitions"]
    definitions["MatcherConfig"]["properties"]["options"] = {}
    definitions["DynamicConfigValue"]["properties"]["value"] = {}
    definitions["VariableModel"]["properties"]["query"]["oneOf"][1]["additionalProperties"] = {}
    return schema


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for name in ("dashboards", "queries"):
        shutil.copytree(REPO / name, root / name)
    project = load_project(root)
    written = write_build(project)
    return project, written


def test_build_writes_one_json_per_dashboard_and_the_provisioning(built):
    project, written = built
    names = sorted(p.relative_to(project.root).as_posix() for p in written)
    assert names == [
        "build/grafana/event-stream.json",
        "build/grafana/mcp-tools.json",
        "build/grafana/n8n-automations.json",
        "build/metabase/commerce-analytics.json",
        "build/metabase/messaging-support.json",
        "build/metabase/user-growth.json",
        "provisioning/grafana/dashboards/smarter-obs.yaml",
        "provisioning/grafana/datasources/smarter-obs.yaml",
    ]


def test_every_dashboard_validates_against_the_schema(built):
    import jsonschema

    project, _ = built
    validator = jsonschema.Draft7Validator(dashboard_schema())
    for path in sorted((project.build_dir / "grafana").glob("*.json")):
        document = json.loads(path.read_text())
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)]
        assert errors == [], f"{path.name}: {errors}"


def test_the_relaxed_schema_still_rejects_what_grafana_would(built):
    import jsonschema

    project, _ = built
    document = json.loads((project.build_dir / "grafana" / "mcp-tools.json").read_text())
    validator = jsonschema.Draft7Validator(dashboard_schema())
    document["panels"][0]["gridPos"]["w"] = "wide"
    document["templating"]["list"][0]["refresh"] = 7
    assert len(list(validator.iter_errors(document))) >= 2


def _check_target(target: dict, panel: dict) -> None:
    """The schema types targets as any object: check each plugin's shape ourselves (grafana.md §2)."""
    plugin = target["datasource"]["type"]
    assert target["datasource"] == panel["datasource"]
    assert target["refId"] == "A" and target["rawSql"].strip()
    if plugin == "grafana-clickhouse-datasource":
        assert set(target) == {"datasource", "editorType", "format", "queryType", "rawSql", "refId"}
        assert target["editorType"] == "sql"
        expected = (0, "timeseries") if panel["type"] == "timeseries" else (1, "table")
        assert (target["format"], target["queryType"]) == expected
    else:
        assert plugin == "grafana-postgresql-datasource"
        assert set(target) == {"datasource", "editorMode", "format", "rawQuery", "rawSql", "refId"}
        assert target["editorMode"] == "code" and target["rawQuery"] is True
        assert target["format"] == ("time_series" if panel["type"] == "timeseries" else "table")


def test_dashboards_are_what_grafana_stores_without_drift(built):
    project, _ = built
    for dashboard in project.for_target("grafana"):
        document = json.loads((project.build_dir / "grafana" / f"{dashboard.slug}.json").read_text())
        assert document["uid"] == dashboard.uid and len(document["uid"]) <= 40
        assert document["schemaVersion"] == 42 and "id" not in document and "version" not in document
        assert document["title"] == dashboard.title
        [annotation] = document["annotations"]["list"]
        assert annotation["builtIn"] == 1 and annotation["name"] == "Annotations & Alerts"
        positions = [(p["gridPos"]["y"], p["gridPos"]["x"]) for p in document["panels"]]
        assert positions == sorted(positions)  # the order Grafana itself keeps panels in
        assert {p["id"]: p["title"] for p in document["panels"]} == {p.id: p.title for p in dashboard.panels}
        for panel in document["panels"]:
            model = dashboard.panel(panel["id"])
            [target] = panel["targets"]
            _check_target(target, panel)
            # the SQL as written, macros included: Grafana expands them itself
            assert "$__" in target["rawSql"] and "{{" not in target["rawSql"] and "{%" not in target["rawSql"]
            legend = panel["options"].get("legend")
            if panel["type"] in ("timeseries", "barchart", "piechart"):
                assert isinstance(legend["showLegend"], bool)  # the SDK default (no key) hides it
            if model.min_interval:
                assert panel["interval"] == model.min_interval
            layout = model.layout
            assert panel["gridPos"] == {"x": layout.x, "y": layout.y, "w": layout.w, "h": layout.h}
        variables = {v["name"]: v for v in document["templating"]["list"]}
        assert list(variables) == [v.name for v in dashboard.variables]
        for variable in dashboard.variables:
            entry = variables[variable.name]
            if variable.kind == "query":
                assert entry["datasource"]["uid"].startswith("smarter-obs-") and entry["refresh"] == 2
            if variable.include_all and variable.default is None:
                assert entry["current"]["value"] == (["$__all"] if variable.multi else "$__all")


def test_mcp_panels_on_the_per_minute_table_have_the_one_minute_minimum(built):
    project, _ = built
    document = compile_dashboard(project, project.dashboard("mcp-tools"))
    for panel in document["panels"]:
        sql = panel["targets"][0]["rawSql"]
        assert ("mcp_tool_calls_1m" in sql) == (panel.get("interval") == "1m"), panel["title"]
    slowest = next(p for p in document["panels"] if p["title"] == "Slowest tool calls")
    [link] = slowest["fieldConfig"]["overrides"][1]["properties"][0]["value"]
    assert link["url"].startswith("/explore?") and "${__value.raw}" in link["url"]


def test_provisioning_has_env_references_not_secrets(built, monkeypatch):
    project, _ = built
    datasources = (project.provisioning_dir / "grafana/datasources/smarter-obs.yaml").read_text()
    assert (
        "password: $CLICKHOUSE_PASSWORD" in datasources and "password: $SUPABASE_DB_PASSWORD" in datasources
    )
    assert (
        "uid: smarter-obs-clickhouse" in datasources and "type: grafana-postgresql-datasource" in datasources
    )
    import yaml

    parsed = yaml.safe_load(datasources)
    for entry in parsed["datasources"]:
        for value in entry.get("secureJsonData", {}).values():
            assert re.fullmatch(r"\$[A-Z_]+", value)
    providers = yaml.safe_load((project.provisioning_dir / "grafana/dashboards/smarter-obs.yaml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/smarter-obs"
    # secrets in the environment never reach a built file
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_URL", "http://obs:s3cr3t-pw@ch:8123/otel")
    monkeypatch.setenv("SMARTER_OBS_POSTGRES_DSN", "postgresql://u:an0ther-pw@db/postgres")
    for path in write_build(project):
        text = path.read_text()
        assert "s3cr3t-pw" not in text and "an0ther-pw" not in text


def test_build_is_deterministic_and_the_committed_provisioning_is_current(built):
    project, written = built
    before = {p: p.read_bytes() for p in written}
    assert {p: p.read_bytes() for p in write_build(project)} == before
    for sub in ("datasources", "dashboards"):
        committed = REPO / "provisioning/grafana" / sub / "smarter-obs.yaml"
        assert (
            committed.read_text()
            == (project.provisioning_dir / "grafana" / sub / "smarter-obs.yaml").read_text()
        ), "provisioning/grafana is stale: run `smarter-obs build`"


def test_the_sdk_reads_the_json_back(built):
    import warnings

    project, _ = built
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from grafana_foundation_sdk.cog.encoder import JSONEncoder
        from grafana_foundation_sdk.models.dashboard import Dashboard

        from smarter_obs.dashboards.compile.grafana import _query_classes

        _query_classes()  # registers the ClickHouse/PostgreSQL target types for decoding
        for path in sorted((project.build_dir / "grafana").glob("*.json")):
            document = json.loads(path.read_text())
            again = json.loads(JSONEncoder(sort_keys=True).encode(Dashboard.from_json(document)))
            assert again == document, path.name
