"""Plans, readable diffs and the normal forms that keep every server version from showing a diff."""

from __future__ import annotations

import re

from smarter_obs.dashboards.plan import Change, Plan, diff, exit_code
from smarter_obs.dashboards.publish import normal


def test_diff_matches_panels_by_id_and_shows_sql_as_a_unified_diff():
    old = {
        "panels": [
            {"id": 1, "targets": [{"refId": "A", "rawSql": "SELECT a\nFROM t"}]},
            {"id": 2, "title": "x"},
        ]
    }
    new = {
        "panels": [
            {"id": 2, "title": "y"},
            {"id": 1, "targets": [{"refId": "A", "rawSql": "SELECT a\nFROM u"}]},
        ]
    }
    assert diff(old, new) == [
        "~ panels[id=1].targets[refId=A].rawSql:",
        "    @@ -1,2 +1,2 @@",
        "     SELECT a",
        "    -FROM t",
        "    +FROM u",
        '~ panels[id=2].title: "x" → "y"',
        "~ panels: order changed",
    ]
    assert diff({"a": 1}, {"a": 1}) == []
    assert diff({"a": 1}, {"b": [1]}) == ["- a: 1", "+ b: [1]"]


def test_plan_render_and_exit_codes():
    plan = Plan("grafana", "https://metrics.smarterbot.cl")
    plan.add(Change("grafana", "dashboard", "u1", "A", "unchanged"))
    assert exit_code([plan]) == 0 and "1 unchanged" in plan.render() and "'A'" not in plan.render()
    assert "= dashboard 'A' (u1): unchanged" in plan.render(verbose=True)
    plan.add(
        Change("grafana", "dashboard", "u2", "B", "update", diff=["~ title: 1 → 2"], drift="edited by ana")
    )
    text = plan.render()
    assert exit_code([plan]) == 2
    assert (
        "~ dashboard 'B' (u2): update — CHANGED ON THE SERVER: edited by ana; publish refuses without --force"
        in text
    )
    assert "      ~ title: 1 → 2" in text


def test_entity_ids_are_deterministic_nanoids():
    first = normal.entity_id("commerce/revenue-per-day")
    assert first == normal.entity_id("commerce/revenue-per-day") != normal.entity_id("commerce/other")
    assert re.fullmatch(r"[A-Za-z0-9_\-]{21}", first)


def test_native_query_normal_form_is_the_same_for_every_shape():
    tags = {"tenant": {"id": "u-1", "name": "tenant", "display-name": "Tenant", "type": "text"}}
    dim = {
        "id": "u-2",
        "name": "day",
        "display-name": "Day",
        "type": "dimension",
        "widget-type": "date/all-options",
    }
    legacy = {
        "database": 3,
        "type": "native",
        "native": {
            "query": "SELECT 1",
            "template-tags": {**tags, "day": {**dim, "dimension": ["field", 42, None]}},
        },
    }
    mbql5 = {
        "lib/type": "mbql/query",
        "database": 3,
        "stages": [
            {
                "lib/type": "mbql.stage/native",
                "native": "SELECT 1",
                "template-tags": [
                    {**tags["tenant"], "id": "other-uuid"},
                    {**dim, "dimension": ["field", {"lib/uuid": "x", "base-type": "type/Date"}, 42]},
                ],
            }
        ],
    }
    assert normal.native_query(legacy) == normal.native_query(mbql5)
    database, sql, normal_tags = normal.native_query(mbql5)
    assert (database, sql, sorted(normal_tags)) == (3, "SELECT 1", ["day", "tenant"])
    assert normal_tags["day"]["dimension"] == ["field", 42]


def test_grafana_normal_form_drops_server_fields_and_the_marker():
    model = {"uid": "u", "title": "T", "tags": ["a"], "panels": []}
    stored = {**normal.with_marker(model), "id": 7, "version": 3, "iteration": 123}
    assert normal.grafana_dashboard(stored) == model
    assert normal.marker_of(stored) == normal.marker_tag(model)
    assert normal.marker_tag({**model, "title": "U"}) != normal.marker_tag(model)
