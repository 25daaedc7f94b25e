"""The production stack (provisioning/observability.yml): valid Compose, every mounted path there, every
variable listed in provisioning/.env.observability.example, Grafana and the Collector given what their
configuration reads, and no secret in any provisioning file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "provisioning" / "observability.yml"
EXAMPLE = ROOT / "provisioning" / ".env.observability.example"
_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?+][^}]*)?\}")


def _compose() -> dict:
    return yaml.safe_load(STACK.read_text())


def _example() -> dict[str, str]:
    pairs = [
        line.split("=", 1) for line in EXAMPLE.read_text().splitlines() if line and not line.startswith("#")
    ]
    return {name: value for name, value in pairs}


def test_the_stack_is_valid_compose():
    schema = json.loads((ROOT / "tests" / "specs" / "compose" / "compose-spec.json").read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(_compose())
    ]
    assert errors == []
    services = _compose()["services"]
    assert {"clickhouse", "grafana", "metabase", "otel-collector"} <= set(services)
    commands = {name: s.get("command", []) for name, s in services.items()}
    assert commands["collect-spans"][:2] == ["collect", "spans"]
    assert commands["collect-redpanda"][:2] == ["collect", "redpanda"]
    assert commands["collect-n8n"][:2] == ["collect", "n8n"]
    assert "grafana-clickhouse-datasource" in services["grafana"]["environment"]["GF_PLUGINS_PREINSTALL"]


def test_every_variable_is_listed_in_the_example_file():
    used = set(_VAR.findall(STACK.read_text()))
    listed = set(_example())
    assert used - listed == set(), f"not in {EXAMPLE.name}: {sorted(used - listed)}"
    assert listed - used == set(), f"listed but unused: {sorted(listed - used)}"


def test_the_example_file_holds_no_secret():
    secret = re.compile(r"PASSWORD|API_KEY|TOKEN|SECRET|_URL$")
    filled = {
        k: v
        for k, v in _example().items()
        if secret.search(k) and v and not v.startswith(("http://", "https://"))
    }
    assert filled == {}


def test_every_mounted_path_exists_after_build(tmp_path):
    """Mounts are relative to the compose file; build/grafana is what `smarter-obs build` writes."""
    from smarter_obs.dashboards import load_project
    from smarter_obs.dashboards.compile import write_build

    project = tmp_path / "project"
    for part in ("dashboards", "queries", "provisioning"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    write_build(load_project(project), project / "build")
    base = project / "provisioning"
    missing = []
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")) and not (base / source).resolve().exists():
                missing.append(f"{name}: {source}")
        build = service.get("build")
        if build:
            context = (base / build["context"]).resolve()
            if not (context / build["dockerfile"]).is_file():
                missing.append(f"{name}: build {build}")
    assert missing == []
    assert sorted(p.name for p in (project / "build" / "grafana").glob("*.json"))


def test_grafana_gets_every_variable_its_provisioning_reads():
    environment = _compose()["services"]["grafana"]["environment"]
    for path in (ROOT / "provisioning" / "grafana").rglob("*.yaml"):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        wanted = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", text))
        assert wanted - set(environment) == set(), f"{path.name} reads {sorted(wanted - set(environment))}"


def test_the_collector_gets_every_variable_its_config_reads():
    service = _compose()["services"]["otel-collector"]
    config = (ROOT / "provisioning" / "otel-collector" / "config.yaml").read_text()
    required = {
        name for name, default in re.findall(r"\$\{env:([A-Z_0-9]+)(:-[^}]*)?\}", config) if not default
    }
    assert required - set(service["environment"]) == set()
    [mount] = service["volumes"]
    assert mount.split(":")[1] == service["command"][0].split("=", 1)[1]


@pytest.mark.parametrize("folder", ["grafana", "otel-collector"])
def test_provisioning_files_reference_secrets_never_hold_them(folder):
    for path in (ROOT / "provisioning" / folder).rglob("*.yaml"):
        for match in re.finditer(r"(password|token|api_?key)\s*:\s*(\S+)", path.read_text(), re.I):
            assert match.group(2).startswith("$"), f"{path}: {match.group(0)}"
