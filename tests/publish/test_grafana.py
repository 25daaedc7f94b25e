"""Publishing to Grafana through grafana-client, against the stateful Grafana test server."""

from __future__ import annotations

import pytest

from smarter_obs.dashboards.publish import DriftError, PublishAuthError, PublishFailed, plan, publish
from smarter_obs.dashboards.publish.normal import MARKER_PREFIX, grafana_dashboard, marker_of, marker_tag


def _only(config, payloads, **kwargs):
    return publish(config, payloads, only=("grafana",), **kwargs)


def test_first_publish_creates_folder_and_dashboards_by_uid(grafana, config, payloads):
    report = _only(config, payloads, message="smarter-obs 0.1.0 (abc123)")
    assert [(r.method, r.path) for r in grafana.writes()] == [
        ("POST", "/api/folders"),
        ("POST", "/api/dashboards/db"),
        ("POST", "/api/dashboards/db"),
    ]
    assert grafana.folders["smarter-obs"]["title"] == "SmarterOS"
    for sent in payloads.grafana.values():
        entry = grafana.dashboards[sent["uid"]]
        assert entry["folderUid"] == "smarter-obs" and entry["version"] == 1
        assert entry["message"] == "smarter-obs 0.1.0 (abc123)"
        stored = entry["dashboard"]
        assert grafana_dashboard(stored) == sent  # exactly the compiled JSON, plus our marker tag
        assert marker_of(stored) == marker_tag(sent)
    assert "grafana: 3 write(s)" in report.summary()


def test_second_publish_sends_no_write(grafana, config, payloads):
    _only(config, payloads)
    grafana.clear()
    [again] = plan(config, payloads, only=("grafana",))
    assert not again.pending() and again.counts()["unchanged"] == 3
    _only(config, payloads)
    assert grafana.writes() == []
    assert {r.method for r in grafana.requests} == {"GET"}


def test_an_edit_shows_exactly_that_diff_then_publishes_then_is_unchanged(grafana, config, payloads):
    _only(config, payloads)
    payloads.grafana["mcp-tools"]["panels"][1]["title"] = "Tool calls / minute"
    [before] = plan(config, payloads, only=("grafana",))
    [change] = before.pending()
    assert (change.kind, change.key, change.action, change.drift) == (
        "dashboard",
        "smarter-obs-mcp-tools",
        "update",
        None,
    )
    assert change.diff == ['~ panels[id=2].title: "Tool calls per minute" → "Tool calls / minute"']
    grafana.clear()
    _only(config, payloads)
    [write] = grafana.writes()
    assert write.body["dashboard"]["version"] == 1 and write.body["overwrite"] is False
    assert write.body["folderUid"] == "smarter-obs"  # omitting it would move the dashboard to the root
    assert grafana.dashboards["smarter-obs-mcp-tools"]["version"] == 2
    [after] = plan(config, payloads, only=("grafana",))
    assert not after.pending()


def test_a_change_made_on_the_server_blocks_publish_until_force(grafana, config, payloads):
    _only(config, payloads)
    grafana.edit_dashboard("smarter-obs-n8n", lambda d: d["panels"][0].update(title="Runs"))
    [drift] = plan(config, payloads, only=("grafana",))
    [change] = drift.pending()
    assert change.drift and "edited after smarter-obs published it" in change.drift
    assert "ana@smarterbot.cl" in change.drift and "version 2" in change.drift
    assert change.diff == ['~ panels[id=1].title: "Runs" → "Executions"']
    assert "CHANGED ON THE SERVER" in drift.render() and "--force" in drift.render()
    grafana.clear()
    with pytest.raises(DriftError) as refused:
        _only(config, payloads)
    assert "smarter-obs-n8n" in str(refused.value) and "--force" in str(refused.value)
    assert grafana.writes() == []
    _only(config, payloads, force=True)
    [write] = grafana.writes()
    assert write.body["overwrite"] is True
    assert grafana.dashboard("smarter-obs-n8n")["panels"][0]["title"] == "Executions"
    [after] = plan(config, payloads, only=("grafana",))
    assert not after.pending()


def test_a_dashboard_moved_out_of_the_folder_or_without_marker_is_drift(grafana, config, payloads):
    _only(config, payloads)
    grafana.dashboards["smarter-obs-n8n"]["folderUid"] = ""
    grafana.edit_dashboard("smarter-obs-mcp-tools", lambda d: d.update(tags=["mcp"]))
    [p] = plan(config, payloads, only=("grafana",))
    drifts = {c.key: c.drift for c in p.pending()}
    assert "moved to folder '(root)'" in drifts["smarter-obs-n8n"]
    assert "no smarter-obs marker" in drifts["smarter-obs-mcp-tools"]


def test_edit_between_plan_and_write_is_caught_by_412(grafana, config, payloads, monkeypatch):
    from smarter_obs.dashboards.publish.grafana import GrafanaTarget

    _only(config, payloads)
    payloads.grafana["n8n"]["title"] = "N8N"
    real_apply = GrafanaTarget.apply

    def apply_after_an_edit(self, plan_, **kwargs):
        grafana.edit_dashboard("smarter-obs-n8n", lambda d: d.update(refresh="1m"))
        return real_apply(self, plan_, **kwargs)

    monkeypatch.setattr(GrafanaTarget, "apply", apply_after_an_edit)
    with pytest.raises(PublishFailed) as failed:
        _only(config, payloads)
    assert "412" in str(failed.value) and "version-mismatch" in str(failed.value)
    assert grafana.dashboard("smarter-obs-n8n")["title"] == "N8N Automations"


def test_401_names_the_token_variable(grafana, config, payloads):
    bad = type(config)(**{**config.__dict__, "grafana_token": "glsa_revoked"})
    with pytest.raises(PublishAuthError) as exc:
        plan(bad, payloads, only=("grafana",))
    assert exc.value.variable == "GRAFANA_TOKEN" and exc.value.status == 401
    assert "glsa_revoked" not in str(exc.value)
    assert grafana.writes() == []


def test_403_names_the_missing_role(grafana, config, payloads):
    grafana.tokens["glsa_viewer"] = "Viewer"
    viewer = type(config)(**{**config.__dict__, "grafana_token": "glsa_viewer"})
    with pytest.raises(PublishFailed) as exc:
        _only(viewer, payloads)
    assert (
        isinstance(exc.value.cause, PublishAuthError)
        and "403" in str(exc.value)
        and "Editor" in str(exc.value)
    )


def test_500_then_success_is_retried(grafana, config, payloads):
    fault = grafana.fault("status", "/api/dashboards/db", code=500, times=2)
    _only(config, payloads)
    assert fault.applied == 2
    saves = [r for r in grafana.requests if r.path == "/api/dashboards/db"]
    assert [r.status for r in saves] == [500, 500, 200, 200]
    assert set(grafana.dashboards) == {"smarter-obs-mcp-tools", "smarter-obs-n8n"}


def test_a_timeout_is_retried(grafana, config, payloads):
    grafana.fault("timeout", "/api/folders/smarter-obs", delay=1.5)
    [p] = plan(config, payloads, only=("grafana",))
    assert [c.action for c in p.changes][0] == "create"
    assert len([r for r in grafana.requests if r.path == "/api/folders/smarter-obs"]) == 2


def test_failure_in_the_middle_reports_what_was_done_and_a_rerun_converges(grafana, config, payloads):
    grafana.fault("status", "/api/dashboards/db", code=500, after=1, times=10)
    with pytest.raises(PublishFailed) as failed:
        _only(config, payloads)
    message = str(failed.value)
    assert "grafana create folder smarter-obs" in message
    assert "grafana create dashboard smarter-obs-mcp-tools" in message
    assert "smarter-obs-n8n" in message and "rerun" in message
    grafana.faults.clear()
    [rest] = plan(config, payloads, only=("grafana",))
    assert [(c.key, c.action) for c in rest.pending()] == [("smarter-obs-n8n", "create")]
    _only(config, payloads)
    [done] = plan(config, payloads, only=("grafana",))
    assert not done.pending()


def test_removed_dashboard_is_delete_and_prune_removes_only_ours(grafana, config, payloads):
    _only(config, payloads)
    # a dashboard a person made in the managed folder (no marker) and one outside it: never touched
    grafana.dashboards["hand-made"] = {
        **grafana.dashboards["smarter-obs-n8n"],
        "dashboard": {"uid": "hand-made", "title": "Hand made", "tags": []},
    }
    del payloads.grafana["n8n"]
    [p] = plan(config, payloads, only=("grafana",))
    assert [(c.key, c.action) for c in p.pending()] == [("smarter-obs-n8n", "delete")]
    _only(config, payloads)
    assert "smarter-obs-n8n" in grafana.dashboards  # listed, not removed without --prune
    _only(config, payloads, prune=True)
    assert "smarter-obs-n8n" not in grafana.dashboards and "hand-made" in grafana.dashboards


def test_a_selection_plans_no_deletes(grafana, config, payloads):
    _only(config, payloads)
    only_mcp = payloads.select(("mcp-tools",))
    [p] = plan(config, only_mcp, only=("grafana",), complete=False)
    assert not p.pending()


def test_unmanaged_datasource_missing_on_the_server_is_a_warning(grafana, config, payloads):
    [p] = plan(config, payloads, only=("grafana",))
    assert len(p.warnings) == 1
    assert "smarter-obs-supabase" in p.warnings[0] and "SUPABASE_DB_URL" in p.warnings[0]


def test_managed_datasources_from_urls_and_passwords_never_shown(grafana, config, payloads, capsys):
    ch_pw, pg_pw = "ch-Secret-1", "pg-Secret-2"
    managed = type(config)(
        **{
            **config.__dict__,
            "clickhouse_url": f"https://reader:{ch_pw}@ch.smarterbot.cl:8443/otel",
            "supabase_db_url": f"postgresql://grafana:{pg_pw}@db.supabase.co:6543/postgres?sslmode=require",
        }
    )
    [p] = plan(managed, payloads, only=("grafana",))
    actions = {(c.kind, c.key): c.action for c in p.changes}
    assert actions[("datasource", "smarter-obs-clickhouse")] == "update"  # exists, not configured like this
    assert actions[("datasource", "smarter-obs-supabase")] == "create"
    assert p.warnings == []
    rendered = p.render(verbose=True)
    assert ch_pw not in rendered and pg_pw not in rendered
    report = _only(managed, payloads, progress=print)
    ch = grafana.datasources["smarter-obs-clickhouse"]
    assert ch["jsonData"] == {
        "host": "ch.smarterbot.cl",
        "port": 8443,
        "protocol": "http",
        "secure": True,
        "username": "reader",
        "defaultDatabase": "otel",
    }
    pg = grafana.datasources["smarter-obs-supabase"]
    assert (pg["url"], pg["user"], pg["jsonData"]["database"], pg["jsonData"]["sslmode"]) == (
        "db.supabase.co:6543",
        "grafana",
        "postgres",
        "require",
    )
    assert grafana.secure == {
        "smarter-obs-clickhouse": {"password": ch_pw},
        "smarter-obs-supabase": {"password": pg_pw},
    }
    out = capsys.readouterr()
    assert ch_pw not in out.out + out.err + report.summary() and pg_pw not in out.out + out.err
    grafana.clear()
    _only(managed, payloads)
    assert grafana.writes() == []  # passwords are not resent on every run
    rotated = type(config)(
        **{**managed.__dict__, "supabase_db_url": managed.supabase_db_url.replace(pg_pw, "new-Pw")}
    )
    _only(rotated, payloads, force=True)  # --force resends them: how a rotated password reaches Grafana
    assert grafana.secure["smarter-obs-supabase"] == {"password": "new-Pw"}


def test_marker_is_a_documented_tag(payloads):
    tag = marker_tag(payloads.grafana["n8n"])
    assert tag.startswith(MARKER_PREFIX) and len(tag) <= 50
