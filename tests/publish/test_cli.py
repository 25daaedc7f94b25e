"""`smarter-obs plan` / `publish` as CI runs them: exit codes, output, progress, no secret anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from smarter_obs.cli import main
from tests.publish.conftest import write_build

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_exit_codes_2_then_0_after_publish(env, build_dir, grafana, metabase, capsys):
    code, out, _ = run(capsys, "plan", "--from-build", str(build_dir))
    assert code == 2
    assert "+ dashboard 'MCP Tool Execution' (smarter-obs-mcp-tools): create" in out
    assert "+ card 'Revenue per day'" in out
    assert grafana.writes() == [] and metabase.writes() == []  # plan changes nothing
    code, out, err = run(capsys, "publish", "--from-build", str(build_dir))
    assert code == 0, err
    assert (
        "grafana: dashboard smarter-obs-n8n: created" in err
        and "metabase: created card 'Conversion rate'" in err
    )
    assert "grafana: 3 write(s)" in out
    code, out, _ = run(capsys, "plan", "--from-build", str(build_dir))
    assert code == 0 and "3 unchanged" in out and "6 unchanged" in out


def test_plan_json_lists_every_object(env, build_dir, capsys):
    code, out, _ = run(
        capsys, "plan", "--from-build", str(build_dir), "--format", "json", "--only", "metabase"
    )
    assert code == 2
    [plan] = json.loads(out)
    assert plan["target"] == "metabase" and plan["counts"]["create"] == 6
    assert {c["kind"] for c in plan["changes"]} == {"collection", "card", "dashboard"}


def test_dashboard_selection_and_unknown_slug(env, build_dir, grafana, capsys):
    code, _, err = run(
        capsys, "publish", "--from-build", str(build_dir), "--dashboard", "n8n", "--only", "grafana"
    )
    assert code == 0, err
    assert set(grafana.dashboards) == {"smarter-obs-n8n"}
    code, _, err = run(capsys, "plan", "--from-build", str(build_dir), "--dashboard", "nope")
    assert code == 1 and "nope: no such dashboard" in err and "mcp-tools" in err


def test_publish_refuses_a_server_change_then_force_overwrites(env, build_dir, grafana, capsys):
    assert run(capsys, "publish", "--from-build", str(build_dir), "--only", "grafana")[0] == 0
    grafana.edit_dashboard("smarter-obs-mcp-tools", lambda d: d.update(title="MCP (edited)"))
    code, out, _ = run(capsys, "plan", "--from-build", str(build_dir), "--only", "grafana")
    assert code == 2 and "CHANGED ON THE SERVER" in out and '"MCP (edited)" → "MCP Tool Execution"' in out
    grafana.clear()
    code, _, err = run(capsys, "publish", "--from-build", str(build_dir), "--only", "grafana")
    assert code == 1 and "--force" in err and grafana.writes() == []
    code, _, err = run(capsys, "publish", "--from-build", str(build_dir), "--only", "grafana", "--force")
    assert code == 0 and len(grafana.writes()) == 1


@pytest.mark.parametrize(
    ("unset", "variable"), [("GRAFANA_TOKEN", "GRAFANA_TOKEN"), ("METABASE_API_KEY", "METABASE_API_KEY")]
)
def test_a_missing_credential_names_the_variable(env, build_dir, monkeypatch, capsys, unset, variable):
    monkeypatch.delenv(unset)
    code, _, err = run(capsys, "plan", "--from-build", str(build_dir))
    assert code == 1 and variable in err and "Traceback" not in err


@pytest.mark.parametrize("side", ["grafana", "metabase"])
def test_401_on_each_side_is_one_line_naming_the_variable(env, build_dir, monkeypatch, capsys, side):
    variable = {"grafana": "GRAFANA_TOKEN", "metabase": "METABASE_API_KEY"}[side]
    monkeypatch.setenv(variable, "revoked-credential-123")
    code, out, err = run(capsys, "publish", "--from-build", str(build_dir))
    assert code == 1 and f"rejected {variable} (401" in err
    assert "revoked-credential-123" not in out + err and "Traceback" not in err


def _project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for part in ("dashboards", "queries", "provisioning"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def test_publishes_the_real_six_dashboards_with_no_secret_anywhere(
    env, tmp_path, grafana, metabase, monkeypatch, capsys
):
    metabase.mbql5, metabase.tags_as_list = (
        True,
        True,
    )  # answers reshaped the most (both shapes: test_metabase)
    secrets = ("Ch-Passw0rd-x1", "Pg-Passw0rd-y2")
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_URL", f"https://grafana_ro:{secrets[0]}@ch.internal:8443/otel")
    monkeypatch.setenv(
        "SUPABASE_DB_URL", f"postgresql://grafana_ro:{secrets[1]}@db.supabase.co:5432/postgres"
    )
    project = _project_copy(tmp_path)
    code, out, err = run(capsys, "publish", "--project", str(project))
    assert code == 0, err
    built = {
        t: sorted(p.stem for p in (project / "build" / t).glob("*.json")) for t in ("grafana", "metabase")
    }
    assert built == {
        "grafana": ["event-stream", "mcp-tools", "n8n-automations"],
        "metabase": ["commerce-analytics", "messaging-support", "user-growth"],
    }
    for slug in built[
        "grafana"
    ]:  # every compiled dashboard went through the fake's dashboard JSON schema check
        sent = json.loads((project / "build" / "grafana" / f"{slug}.json").read_text())
        assert grafana.dashboards[sent["uid"]]["folderUid"] == "smarter-obs"
    assert set(grafana.datasources) == {"smarter-obs-clickhouse", "smarter-obs-supabase"}
    assert grafana.secure["smarter-obs-supabase"] == {"password": secrets[1]}  # only the API call carries it
    names = sorted(d["name"] for d in metabase.dashboards.values())
    assert names == ["Commerce Analytics", "Messaging & Support", "User Growth"]
    compiled_cards = sum(
        len(json.loads(p.read_text())["cards"]) for p in (project / "build" / "metabase").glob("*.json")
    )
    assert len(metabase.live_cards()) == compiled_cards and compiled_cards >= 13
    assert all(len(d["dashcards"]) > 0 for d in metabase.dashboards.values())
    grafana.clear()
    metabase.clear()
    code, plan_out, plan_err = run(capsys, "plan", "--project", str(project), "--all")
    assert code == 0, plan_out
    assert grafana.writes() == [] and metabase.writes() == []
    texts = [out, err, plan_out, plan_err]
    for folder in (project / "build", project / "provisioning"):
        texts += [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
    for secret in (*secrets, env["GRAFANA_TOKEN"], env["METABASE_API_KEY"]):
        assert not [t for t in texts if secret in t], f"{secret} leaked"


def test_help_lists_the_configuration(capsys):
    code, out, _ = run(capsys, "publish", "--help")
    assert code == 0
    for word in ("--only", "--dashboard", "--force", "--prune", "GRAFANA_TOKEN", "METABASE_API_KEY"):
        assert word in out


def test_make_target_runs_publish():
    makefile = (ROOT / "Makefile").read_text()
    assert "publish-dashboards:" in makefile and "smarter-obs publish" in makefile


def test_build_dir_fixture_matches_the_build_layout(tmp_path, payloads):
    build = write_build(tmp_path / "b", payloads)
    assert sorted(p.name for p in (build / "grafana").iterdir()) == ["mcp-tools.json", "n8n.json"]
