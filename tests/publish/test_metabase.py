"""Publishing to Metabase through our requests client, against the stateful Metabase test server."""

from __future__ import annotations

import pytest

from smarter_obs.dashboards.publish import PublishAuthError, PublishError, PublishFailed, plan, publish
from smarter_obs.dashboards.publish.normal import entity_id


def _only(config, payloads, **kwargs):
    return publish(config, payloads, only=("metabase",), **kwargs)


def _plan(config, payloads, **kwargs):
    [p] = plan(config, payloads, only=("metabase",), **kwargs)
    return p


def test_first_publish_creates_collection_cards_and_dashboards(metabase, config, payloads):
    _only(config, payloads)
    [collection] = [c for c in metabase.collections.values() if c["name"] == "SmarterOS"]
    assert collection["location"] == "/"
    cards = {c["entity_id"]: c for c in metabase.live_cards()}
    assert set(cards) == {entity_id(c["key"]) for p in payloads.metabase.values() for c in p["cards"]}
    revenue = cards[entity_id("commerce/revenue-per-day")]
    assert revenue["collection_id"] == collection["id"] and revenue["display"] == "line"
    assert metabase.databases[revenue["database_id"]]["name"] == "Supabase"
    support = cards[entity_id("support/conversations-per-inbox")]
    assert metabase.databases[support["database_id"]]["name"] == "Chatwoot"
    tags = revenue["dataset_query"]["native"]["template-tags"]
    assert sorted(tags) == ["end", "start", "tenant"] and tags["tenant"]["type"] == "text"
    commerce = next(d for d in metabase.dashboards.values() if d["name"] == "Commerce Analytics")
    assert commerce["collection_id"] == collection["id"]
    assert [p["slug"] for p in commerce["parameters"]] == ["start", "end", "tenant"]
    layout = sorted((dc["row"], dc["col"], dc["size_x"], dc["card_id"]) for dc in commerce["dashcards"])
    assert layout == [
        (0, 0, 12, revenue["id"]),
        (0, 12, 6, cards[entity_id("commerce/conversion-rate")]["id"]),
    ]
    mapping = commerce["dashcards"][0]["parameter_mappings"][2]
    assert mapping == {
        "parameter_id": "p-tenant",
        "card_id": commerce["dashcards"][0]["card_id"],
        "target": ["variable", ["template-tag", "tenant"]],
    }
    # dashcards go through PUT /api/dashboard/:id with negative ids, never the removed add-card endpoint
    puts = [r for r in metabase.writes() if r.method == "PUT" and r.path.startswith("/api/dashboard/")]
    assert puts and all(dc["id"] < 0 for r in puts for dc in r.body["dashcards"])
    assert not any(r.path.endswith("/cards") for r in metabase.requests)


@pytest.mark.parametrize(
    ("mbql5", "tags_as_list"), [(True, False), (True, True), (False, False), (False, True)]
)
def test_second_publish_sends_no_write_whatever_the_response_shapes(
    metabase, config, payloads, mbql5, tags_as_list
):
    metabase.mbql5, metabase.tags_as_list = mbql5, tags_as_list
    _only(config, payloads)
    metabase.clear()
    p = _plan(config, payloads)
    assert not p.pending(), p.render()
    _only(config, payloads)
    assert metabase.writes() == []


def test_an_edit_shows_exactly_that_diff_then_publishes_then_is_unchanged(metabase, config, payloads):
    _only(config, payloads)
    card = payloads.metabase["commerce"]["cards"][1]
    card["query"] = card["query"].replace("avg(", "100 * avg(")
    payloads.metabase["commerce"]["dashcards"][1]["size_x"] = 8
    changes = _plan(config, payloads).pending()
    assert [(c.kind, c.title, c.action) for c in changes] == [
        ("card", "Conversion rate", "update"),
        ("dashboard", "Commerce Analytics", "update"),
    ]
    assert changes[0].diff[0] == "~ query:"
    assert "    -SELECT avg((completed_at IS NOT NULL)::int) AS conversion FROM checkouts" in changes[0].diff
    assert changes[1].diff == ["~ dashcards[card=commerce/conversion-rate].size_x: 6 → 8"]
    metabase.clear()
    _only(config, payloads)
    assert [(r.method, r.path.rsplit("/", 1)[0]) for r in metabase.writes()] == [
        ("PUT", "/api/card"),
        ("PUT", "/api/dashboard"),
    ]
    put = metabase.writes()[1].body
    assert all(dc["id"] > 0 for dc in put["dashcards"])  # existing dashcards keep their ids
    assert not _plan(config, payloads).pending()


def test_a_change_made_in_metabase_shows_as_update_and_code_wins(metabase, config, payloads):
    _only(config, payloads)
    card = metabase.card_by_entity(entity_id("commerce/revenue-per-day"))
    metabase.edit_card(card["id"], name="Revenue (edited)")
    [change] = _plan(config, payloads).pending()
    assert change.diff == ['~ name: "Revenue (edited)" → "Revenue per day"']
    _only(config, payloads)
    assert metabase.cards[card["id"]]["name"] == "Revenue per day"


def test_removed_card_and_dashboard_are_deleted_by_prune_as_archive(metabase, config, payloads):
    _only(config, payloads)
    outsider = metabase.add_database("Other", "postgres")  # noqa: F841 - Metabase holds more than ours
    del payloads.metabase["support"]
    payloads.metabase["commerce"]["cards"].pop(1)
    payloads.metabase["commerce"]["dashcards"].pop(1)
    p = _plan(config, payloads)
    assert sorted((c.kind, c.title, c.action) for c in p.pending()) == [
        ("card", "Conversations per inbox", "delete"),
        ("card", "Conversion rate", "delete"),
        ("dashboard", "Commerce Analytics", "update"),
        ("dashboard", "Messaging & Support", "delete"),
    ]
    _only(config, payloads)
    assert len(metabase.live_cards()) == 3  # without --prune nothing is archived
    _only(config, payloads, prune=True)
    assert [c["name"] for c in metabase.live_cards()] == ["Revenue per day"]
    archived = next(d for d in metabase.dashboards.values() if d["name"] == "Messaging & Support")
    assert archived["archived"] is True
    assert not _plan(config, payloads).pending()


def test_401_names_the_api_key_variable_and_hides_it(metabase, config, payloads):
    bad = type(config)(**{**config.__dict__, "metabase_api_key": "mb_wrong_key"})
    with pytest.raises(PublishAuthError) as exc:
        _plan(bad, payloads)
    assert exc.value.variable == "METABASE_API_KEY" and exc.value.status == 401
    assert "mb_wrong_key" not in str(exc.value)


def test_403_says_what_the_key_lacks(metabase, config, payloads):
    metabase.api_keys["mb_read_only"] = False
    reader = type(config)(**{**config.__dict__, "metabase_api_key": "mb_read_only"})
    with pytest.raises(PublishFailed) as exc:
        _only(reader, payloads)
    assert "403" in str(exc.value) and "METABASE_API_KEY" in str(exc.value) and "curate" in str(exc.value)


def test_session_auth_with_user_and_password(metabase, config, payloads):
    session = type(config)(
        **{
            **config.__dict__,
            "metabase_api_key": None,
            "metabase_user": "ops@smarterbot.cl",
            "metabase_password": "s3cret-pass",
        }
    )
    _only(session, payloads)
    assert metabase.sessions and all("x-metabase-session" in r.headers for r in metabase.writes())
    wrong = type(config)(**{**session.__dict__, "metabase_password": "nope-pass"})
    with pytest.raises(PublishAuthError) as exc:
        _plan(wrong, payloads)
    assert "METABASE_PASSWORD" in str(exc.value) and "nope-pass" not in str(exc.value)


def test_500_then_success_is_retried(metabase, config, payloads):
    fault = metabase.fault("status", "/api/card/", method="POST", code=500, times=2)
    _only(config, payloads)
    assert fault.applied == 2 and len(metabase.live_cards()) == 3


def test_a_read_timeout_is_retried(metabase, config, payloads):
    metabase.fault("timeout", "/api/database/", delay=1.5)
    assert _plan(config, payloads).counts()["create"] == 6


def test_failure_in_the_middle_reports_what_was_done_and_a_rerun_converges(metabase, config, payloads):
    metabase.fault("status", "/api/dashboard/", method="POST", code=500, after=1, times=10)
    with pytest.raises(PublishFailed) as failed:
        _only(config, payloads)
    message = str(failed.value)
    assert (
        "created card 'Revenue per day'" in message and "laid out dashboard 'Commerce Analytics'" in message
    )
    assert "POST /api/dashboard/: 500" in message and "rerun" in message
    metabase.faults.clear()
    assert [(c.title, c.action) for c in _plan(config, payloads).pending()] == [
        ("Messaging & Support", "create")
    ]
    _only(config, payloads)
    assert not _plan(config, payloads).pending()
    assert len(metabase.live_cards()) == 3 and len(metabase.dashboards) == 2  # nothing duplicated


def test_a_database_name_that_does_not_exist_is_named(metabase, config, payloads):
    wrong = type(config)(
        **{**config.__dict__, "metabase_databases": {"supabase": "Supa", "chatwoot": "Chatwoot"}}
    )
    with pytest.raises(PublishError) as exc:
        _plan(wrong, payloads)
    assert (
        "'Supa'" in str(exc.value)
        and "METABASE_SUPABASE_DB" in str(exc.value)
        and "Chatwoot" in str(exc.value)
    )


def test_a_dropped_connection_on_a_read_is_retried(metabase, config, payloads):
    metabase.fault("drop", "/api/collection/", method="GET")
    assert _plan(config, payloads).counts()["create"] == 6
    assert [r.status for r in metabase.requests if r.path == "/api/collection/"] == [-1, 200]
