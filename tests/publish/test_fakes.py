"""The test servers answer like the real ones: what Grafana or Metabase would refuse, they refuse."""

from __future__ import annotations

import requests

from tests.fakes.grafana import FakeGrafana
from tests.fakes.metabase import FakeMetabase

DASH = {
    "uid": "d1",
    "title": "D",
    "schemaVersion": 42,
    "templating": {"list": []},
    "annotations": {"list": []},
}


def _grafana(fake: FakeGrafana, token: str = "glsa_test_admin") -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _save(fake, session, **body):
    return session.post(fake.url + "/api/dashboards/db", json=body)


def test_grafana_dashboard_rules():
    with FakeGrafana() as fake:
        s = _grafana(fake)
        fake.add_folder("f", "Folder")
        assert (
            _save(fake, s, dashboard={**DASH, "uid": "x" * 41}, folderUid="f")
            .json()["message"]
            .startswith("uid too long")
        )
        assert _save(fake, s, dashboard=DASH, folderUid="missing").status_code == 400
        first = _save(fake, s, dashboard=DASH, folderUid="f").json()
        assert (first["version"], first["status"]) == (1, "success")
        stale = _save(fake, s, dashboard=DASH, folderUid="f")
        assert (stale.status_code, stale.json()["status"]) == (412, "version-mismatch")
        assert _save(fake, s, dashboard=DASH, folderUid="f", overwrite=True).json()["version"] == 2
        same_title = _save(fake, s, dashboard={**DASH, "uid": "d2"}, folderUid="f")
        assert (same_title.status_code, same_title.json()["status"]) == (412, "name-exists")
        moved = _save(fake, s, dashboard={**DASH, "version": 2})  # no folderUid: moved to the root
        assert moved.status_code == 200 and fake.dashboards["d1"]["folderUid"] == ""
        got = s.get(fake.url + "/api/dashboards/uid/d1").json()
        assert got["dashboard"]["version"] == 3 and "folderUid" not in got["meta"]
        assert s.get(fake.url + "/api/dashboards/uid/nope").status_code == 404
        assert fake.validation_errors == []


def test_grafana_rejects_bodies_outside_the_spec_and_schema():
    with FakeGrafana() as fake:
        s = _grafana(fake)
        assert _save(fake, s, dashboard=DASH, folderUID="f").status_code == 400  # misspelt field
        assert _save(fake, s, dashboard={**DASH, "schemaVersion": "42"}).status_code == 400
        assert len(fake.validation_errors) == 2
        assert "folderUID" in fake.validation_errors[0] and "schemaVersion" in fake.validation_errors[1]


def test_grafana_auth_and_roles():
    with FakeGrafana(
        tokens={"glsa_admin": "Admin", "glsa_editor": "Editor", "glsa_viewer": "Viewer"}
    ) as fake:
        assert requests.get(fake.url + "/api/folders").status_code == 401
        assert _grafana(fake, "glsa_nope").get(fake.url + "/api/folders").json() == {
            "message": "Invalid API key"
        }
        assert _grafana(fake, "glsa_viewer").get(fake.url + "/api/folders").status_code == 200
        assert _save(fake, _grafana(fake, "glsa_viewer"), dashboard=DASH).status_code == 403
        assert _save(fake, _grafana(fake, "glsa_editor"), dashboard=DASH).status_code == 200
        ds = {"name": "CH", "type": "grafana-clickhouse-datasource", "uid": "ch"}
        assert _grafana(fake, "glsa_editor").post(fake.url + "/api/datasources", json=ds).status_code == 403
        created = _grafana(fake, "glsa_admin").post(
            fake.url + "/api/datasources", json={**ds, "secureJsonData": {"password": "pw-9x7"}}
        )
        assert created.json()["datasource"]["secureJsonFields"] == {"password": True}
        assert "pw-9x7" not in _grafana(fake, "glsa_admin").get(fake.url + "/api/datasources/uid/ch").text
        assert fake.validation_errors == []


def _metabase(fake: FakeMetabase) -> requests.Session:
    session = requests.Session()
    session.headers["x-api-key"] = "mb_test_key"
    return session


def _card(fake, s, name="Q", sql="SELECT 1 WHERE a = {{t}}"):
    query = {
        "database": 1,
        "type": "native",
        "native": {"query": sql, "template-tags": {"t": {"name": "t", "display-name": "T", "type": "text"}}},
    }
    body = {"name": name, "display": "table", "dataset_query": query, "visualization_settings": {}}
    return s.post(fake.url + "/api/card/", json=body)


def test_metabase_dashcards_are_replaced_wholesale():
    with FakeMetabase() as fake:
        s = _metabase(fake)
        card = _card(fake, s).json()
        dash = s.post(fake.url + "/api/dashboard/", json={"name": "D"}).json()
        url = f"{fake.url}/api/dashboard/{dash['id']}"
        params = [{"id": "p1", "name": "T", "slug": "t", "type": "string/="}]
        mapping = [
            {"parameter_id": "p1", "card_id": card["id"], "target": ["variable", ["template-tag", "t"]]}
        ]
        cells = [
            {
                "id": -1,
                "card_id": card["id"],
                "row": 0,
                "col": 0,
                "size_x": 4,
                "size_y": 4,
                "parameter_mappings": mapping,
            },
            {"id": -2, "card_id": card["id"], "row": 4, "col": 0, "size_x": 4, "size_y": 4},
        ]
        two = s.put(url, json={"parameters": params, "dashcards": cells}).json()["dashcards"]
        assert len(two) == 2 and all(dc["id"] > 0 for dc in two)
        one = s.put(url, json={"dashcards": [{**cells[1], "id": two[1]["id"]}]}).json()["dashcards"]
        assert [dc["id"] for dc in one] == [two[1]["id"]]  # the omitted dashcard is gone
        assert s.post(f"{url}/cards", json={"cardId": card["id"]}).status_code == 404  # removed endpoint
        assert fake.validation_errors == []
        bad = s.put(
            url,
            json={"dashcards": [{**cells[0], "parameter_mappings": [{**mapping[0], "parameter_id": "zz"}]}]},
        )
        assert bad.status_code == 400 and "zz" in fake.validation_errors[0]
        unknown = s.put(url, json={"dashcards": [{**cells[0], "id": 99999}]})
        assert unknown.status_code == 400


def test_metabase_query_shapes_and_entity_ids():
    with FakeMetabase(mbql5=True, tags_as_list=True) as fake:
        s = _metabase(fake)
        eid = "A" * 21
        query = {"database": 2, "type": "native", "native": {"query": "SELECT 1", "template-tags": {}}}
        body = {
            "name": "E",
            "display": "table",
            "dataset_query": query,
            "visualization_settings": {},
            "entity_id": eid,
        }
        created = s.post(fake.url + "/api/card/", json=body).json()
        assert created["dataset_query"]["stages"][0]["native"] == "SELECT 1"
        by_eid = s.get(f"{fake.url}/api/card/{eid}").json()
        assert by_eid["id"] == created["id"]
        legacy = s.get(f"{fake.url}/api/card/{created['id']}", params={"legacy-mbql": "true"}).json()
        assert legacy["dataset_query"]["native"] == {"query": "SELECT 1", "template-tags": []}
        assert s.post(fake.url + "/api/card/", json=body).status_code == 400  # entity id taken
        assert s.get(f"{fake.url}/api/card/{'B' * 21}").status_code == 404
        assert fake.validation_errors == []


def test_metabase_rejects_bodies_outside_the_spec_and_bad_references():
    with FakeMetabase() as fake:
        s = _metabase(fake)
        incomplete = s.post(
            fake.url + "/api/card/", json={"name": "", "display": "table", "dataset_query": {}}
        )
        assert incomplete.status_code == 400 and "visualization_settings" in fake.validation_errors[0]
        unused_tag = _card(fake, s, sql="SELECT 1")
        assert unused_tag.status_code == 400 and "not used" in fake.validation_errors[1]
        assert requests.get(fake.url + "/api/card/1").text == "Unauthenticated"
        assert (
            requests.post(
                fake.url + "/api/session/", json={"username": "ops@smarterbot.cl", "password": "x"}
            ).status_code
            == 401
        )
