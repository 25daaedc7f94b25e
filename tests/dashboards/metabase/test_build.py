"""``build`` for Metabase: the card and dashboard payloads publish sends, valid against Metabase's API."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from smarter_obs.dashboards import load_project
from smarter_obs.dashboards.compile import compile_project, write_build
from smarter_obs.dashboards.compile.metabase import card_entity_id
from smarter_obs.dashboards.sql.metabase import iter_params, parse_template
from tests.dashboards.metabase.openapi import body_errors

PROJECT = Path(__file__).parents[3]
SLUGS = ["commerce-analytics", "messaging-support", "user-growth"]


@pytest.fixture(scope="module")
def payloads() -> dict[str, dict]:
    return compile_project(load_project(PROJECT), target="metabase")["metabase"]


def _as_sent(payload: dict) -> tuple[list[dict], dict, dict]:
    """The bodies as publish sends them: ids the server gave filled in (database 2, card ids 100…)."""
    ids = {card["key"]: 100 + n for n, card in enumerate(payload["cards"])}
    cards = []
    for card in payload["cards"]:
        body = copy.deepcopy(card["body"])
        body["dataset_query"]["database"] = 2
        body["collection_id"] = 7
        cards.append(body)
    layout = copy.deepcopy(payload["dashboard"]["layout"])
    for dashcard in layout["dashcards"]:
        dashcard["card_id"] = ids[dashcard.pop("card_key")]
        for mapping in dashcard["parameter_mappings"]:
            mapping["card_id"] = ids[mapping.pop("card_key")]
    create = {**payload["dashboard"]["create"], "collection_id": 7}
    return cards, create, layout


def test_build_writes_one_payload_per_metabase_dashboard(tmp_path: Path) -> None:
    written = write_build(load_project(PROJECT), tmp_path, target="metabase")
    assert sorted(p.name for p in written) == [f"{s}.json" for s in SLUGS]
    first = {p.name: p.read_text() for p in written}
    (tmp_path / "metabase" / "removed-dashboard.json").write_text("{}")
    again = write_build(load_project(PROJECT), tmp_path, target="metabase")
    assert {p.name: p.read_text() for p in again} == first  # deterministic
    assert sorted(p.name for p in (tmp_path / "metabase").iterdir()) == sorted(first)  # stale one removed


@pytest.mark.parametrize("slug", SLUGS)
def test_payload_bodies_are_valid_metabase_requests(payloads, slug) -> None:
    cards, create, layout = _as_sent(payloads[slug])
    for body in cards:
        assert body_errors("post", "/api/card/", body) == [], body["name"]
        put = {k: v for k, v in body.items() if k != "entity_id"}
        assert body_errors("put", "/api/card/{id}", put) == [], body["name"]
    assert body_errors("post", "/api/dashboard/", create) == []
    assert body_errors("put", "/api/dashboard/{id}", layout) == []


def test_a_broken_body_is_rejected_by_the_same_validator(payloads) -> None:
    """The schema check has teeth: what Metabase rejects fails here too."""
    cards, _, layout = _as_sent(payloads["user-growth"])
    del cards[0]["visualization_settings"]
    assert body_errors("post", "/api/card/", cards[0])
    layout["dashcards"][0]["size_x"] = 0
    layout["parameters"][0]["type"] = "date/whenever"
    assert len(body_errors("put", "/api/dashboard/{id}", layout)) == 2


@pytest.mark.parametrize("slug", SLUGS)
def test_cards_tags_parameters_and_layout_agree(payloads, slug) -> None:
    payload = payloads[slug]
    dashboard = load_project(PROJECT).dashboard(slug)
    layout = payload["dashboard"]["layout"]
    parameter_ids = {p["slug"]: p["id"] for p in layout["parameters"]}
    assert set(parameter_ids) == {v.name for v in dashboard.variables}
    assert [c["key"] for c in payload["cards"]] == [f"{slug}/{p.id}" for p in dashboard.panels]
    cells = set()
    for card, dashcard, panel in zip(payload["cards"], layout["dashcards"], dashboard.panels, strict=True):
        body = card["body"]
        assert (
            re.fullmatch(r"[A-Za-z0-9_-]{21}", card["entity_id"]) and card["entity_id"] == body["entity_id"]
        )
        assert card["entity_id"] == card_entity_id(card["key"])
        assert body["name"] == panel.title and body["description"] == panel.description
        native = body["dataset_query"]["native"]
        used = {p.name for p in iter_params(parse_template(native["query"]))}
        assert set(native["template-tags"]) == used and used <= set(parameter_ids)
        assert "{%" not in native["query"] and "{#" not in native["query"]
        assert {p["id"] for p in body["parameters"]} == {t["id"] for t in native["template-tags"].values()}
        mapped = {(m["parameter_id"], m["target"][1][1]) for m in dashcard["parameter_mappings"]}
        assert mapped == {(parameter_ids[name], name) for name in used}
        assert dashcard["id"] < 0 and dashcard["card_key"] == card["key"]
        assert dashcard["col"] + dashcard["size_x"] <= 24
        for x in range(dashcard["col"], dashcard["col"] + dashcard["size_x"]):
            for y in range(dashcard["row"], dashcard["row"] + dashcard["size_y"]):
                assert (x, y) not in cells, f"{panel.title} overlaps another card"
                cells.add((x, y))
    # the date-range filter: two date parameters; the tenant/inbox filters text
    types = {p["slug"]: p["type"] for p in layout["parameters"]}
    assert types["start_date"] == types["end_date"] == "date/single"


def test_no_secret_or_server_id_in_the_payloads(payloads) -> None:
    text = json.dumps(payloads)
    assert '"database": null' in text and "password" not in text.lower() and "postgresql://" not in text
