"""Publishing to Metabase: the managed collection, cards by deterministic entity id, dashboards by name.

Desired objects come from the compiled Metabase payloads (one per dashboard):

    {"slug", "name", "description", "parameters": [{id, name, slug, type, …}],
     "cards": [{"key", "name", "description", "display", "visualization_settings",
                "database": "supabase" | "chatwoot", "query": "<SQL>", "template_tags": {name: tag}}],
     "dashcards": [{"card": "<card key>", "row", "col", "size_x", "size_y",
                    "parameter_mappings": [{"parameter_id", "target"}], "visualization_settings"}]}

``smarter-obs build``'s own format (``"format": "smarter-obs/metabase@1"``, written by
``smarter_obs.dashboards.compile.metabase``) is converted to this shape by ``from_compiled``.

A card's ``entity_id`` is derived from its key (``normal.entity_id``), so it is found again by
``GET /api/card/<entity_id>`` whatever its numeric id. A dashboard is found by name among the managed
collection's dashboards; its layout and parameters are one ``PUT /api/dashboard/:id`` (the full set of
dashcards: existing ids kept, negative ids for new ones). Everything in the managed collection that is no
longer defined is ``delete`` (archived by ``publish --prune``); nothing outside it is read for deletion or
written. Metabase keeps no version, so a change made in Metabase shows as an ``update`` and code wins.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from typing import Any

from smarter_obs.dashboards.plan import Change, Plan, diff
from smarter_obs.dashboards.publish import normal
from smarter_obs.dashboards.publish.config import METABASE_CHATWOOT_DB, METABASE_SUPABASE_DB, PublishConfig
from smarter_obs.dashboards.publish.errors import PublishError
from smarter_obs.dashboards.publish.metabase_api import MetabaseClient

log = logging.getLogger("smarter_obs.publish")
TARGET = "metabase"
_DB_VARIABLES = {"supabase": METABASE_SUPABASE_DB, "chatwoot": METABASE_CHATWOOT_DB}
COLLECTION_DESCRIPTION = "Managed by smarter-obs (dashboards as code): changes made here are overwritten."
COMPILED_FORMAT = "smarter-obs/metabase@1"


def from_compiled(payload: dict[str, Any]) -> dict[str, Any]:
    """The compiler's payload (``smarter-obs/metabase@1``) in the shape this module plans with."""
    if payload.get("format") != COMPILED_FORMAT:
        return payload
    layout = payload["dashboard"]["layout"]
    cards = []
    for card in payload["cards"]:
        body = card["body"]
        native = body["dataset_query"]["native"]
        cards.append(
            {
                "key": card["key"],
                "entity_id": card.get("entity_id"),
                "name": body["name"],
                "description": body.get("description"),
                "display": body["display"],
                "visualization_settings": body.get("visualization_settings") or {},
                "database": card["datasource"],
                "query": native["query"],
                "template_tags": native.get("template-tags") or {},
                "parameters": body.get("parameters") or [],
            }
        )
    return {
        "slug": payload["slug"],
        "name": layout["name"],
        "description": layout.get("description"),
        "width": layout.get("width", "fixed"),
        "collection": (payload.get("collection") or {}).get("name"),
        "parameters": layout.get("parameters") or [],
        "cards": cards,
        "dashcards": [
            {
                "card": dc["card_key"],
                "row": dc["row"],
                "col": dc["col"],
                "size_x": dc["size_x"],
                "size_y": dc["size_y"],
                "visualization_settings": dc.get("visualization_settings") or {},
                "parameter_mappings": [
                    {"parameter_id": m["parameter_id"], "target": m["target"]}
                    for m in dc.get("parameter_mappings") or []
                ],
            }
            for dc in layout["dashcards"]
        ],
    }


class MetabaseTarget:
    name = TARGET

    def __init__(
        self,
        config: PublishConfig,
        *,
        client: MetabaseClient | None = None,
        progress: Callable[[str], None] | None = None,
    ):
        self.config = config
        self.client = client or MetabaseClient(config)
        self.progress = progress or (lambda text: log.info("%s", text))

    # -- plan ----------------------------------------------------------------------------------------------

    def _databases(self, payloads: list[dict[str, Any]]) -> tuple[dict[str, int], dict[int, str]]:
        """Datasource name → Metabase database id, and id → Metabase database name."""
        databases = self.client.databases()
        by_name = {d["name"]: d["id"] for d in databases}
        ids: dict[str, int] = {}
        for source in sorted({c["database"] for p in payloads for c in p["cards"]}):
            wanted = self.config.metabase_databases.get(source, source)
            if wanted not in by_name:
                variable = _DB_VARIABLES.get(source, "the card's database")
                raise PublishError(
                    f"Metabase at {self.client.url} has no database named {wanted!r} (for {source!r} cards; "
                    f"set by {variable}); databases there: {', '.join(sorted(by_name)) or 'none'}",
                    target=TARGET,
                )
            ids[source] = by_name[wanted]
        return ids, {d["id"]: d["name"] for d in databases}

    def _collection(self) -> dict[str, Any] | None:
        for c in self.client.collections():
            if (
                c.get("name") == self.config.collection
                and c.get("location") == "/"
                and not c.get("archived")
                and not c.get("personal_owner_id")
                and isinstance(c.get("id"), int)
            ):
                return c
        return None

    def plan(self, payloads: Iterable[dict[str, Any]], *, complete: bool = True) -> Plan:
        payloads = [from_compiled(p) for p in payloads]
        plan = Plan(TARGET, self.client.url)
        for p in payloads:
            if p.get("collection") not in (None, self.config.collection):
                plan.warnings.append(
                    f"dashboard {p['name']!r} names collection {p['collection']!r}; "
                    f"smarter-obs publishes into its managed collection {self.config.collection!r} "
                    "(SMARTER_OBS_METABASE_COLLECTION)"
                )
        db_ids, db_names = self._databases(payloads)
        collection = self._collection()
        cid = collection["id"] if collection else None
        if collection is None:
            plan.add(Change(TARGET, "collection", self.config.collection, self.config.collection, "create"))
        else:
            plan.add(
                Change(TARGET, "collection", str(cid), self.config.collection, "unchanged", remote=collection)
            )
        card_keys: dict[int, str] = {}
        for payload in payloads:
            for card in payload["cards"]:
                change = self._plan_card(plan, card, db_ids, db_names, cid)
                if change.remote:
                    card_keys[change.remote["id"]] = card["key"]
        items = self.client.collection_items(cid, "card", "dashboard") if cid else []
        dashboards = {i["name"]: i for i in items if i.get("model") == "dashboard" and not i.get("archived")}
        for payload in payloads:
            self._plan_dashboard(plan, payload, dashboards.get(payload["name"]), card_keys)
        if complete:
            wanted_cards = {_entity_id(c) for p in payloads for c in p["cards"]}
            wanted_dashboards = {p["name"] for p in payloads}
            for item in items:
                if item.get("archived"):
                    continue
                if (item["model"] == "card" and item.get("entity_id") not in wanted_cards) or (
                    item["model"] == "dashboard" and item["name"] not in wanted_dashboards
                ):
                    plan.add(
                        Change(TARGET, item["model"], str(item["id"]), item["name"], "delete", remote=item)
                    )
        return plan

    def _card_body(self, card: dict[str, Any], db_ids: dict[str, int], cid: int | None) -> dict[str, Any]:
        tags = {}
        for name, tag in sorted(card.get("template_tags", {}).items()):
            tags[name] = {
                **copy.deepcopy(tag),
                "name": name,
                "id": tag.get("id") or normal.tag_id(card["key"], name),
            }
            tags[name].setdefault("display-name", name.replace("_", " ").title())
        body = {
            "name": card["name"],
            "description": card.get("description") or None,
            "display": card["display"],
            "visualization_settings": copy.deepcopy(card.get("visualization_settings") or {}),
            "type": "question",
            "collection_id": cid,
            "dataset_query": {
                "database": db_ids[card["database"]],
                "type": "native",
                "native": {"query": card["query"], "template-tags": tags},
            },
        }
        if card.get("parameters"):
            body["parameters"] = copy.deepcopy(card["parameters"])
        return body

    def _plan_card(
        self,
        plan: Plan,
        card: dict[str, Any],
        db_ids: dict[str, int],
        db_names: dict[int, str],
        cid: int | None,
    ) -> Change:
        eid = _entity_id(card)
        body = self._card_body(card, db_ids, cid)
        desired = normal.metabase_card(body, db_names)
        remote = self.client.card(eid)
        key = f"{card['key']} ({eid})"
        if remote is None:
            return plan.add(Change(TARGET, "card", key, card["name"], "create", desired=body))
        current = normal.metabase_card(remote, db_names)
        if cid is None:  # the collection is created by this publish: the card moves into it
            desired["collection_id"] = "(new collection)"
        action = "unchanged" if current == desired else "update"
        change = Change(TARGET, "card", key, card["name"], action, diff=diff(current, desired), desired=body)
        change.remote = remote
        return plan.add(change)

    def _plan_dashboard(
        self, plan: Plan, payload: dict[str, Any], item: dict[str, Any] | None, card_keys: dict[int, str]
    ) -> None:
        desired = normal.metabase_dashboard(_layout(payload), {})
        if item is None:
            plan.add(Change(TARGET, "dashboard", payload["slug"], payload["name"], "create", desired=payload))
            return
        remote = self.client.dashboard(item["id"])
        current = normal.metabase_dashboard(remote, card_keys)
        action = "unchanged" if current == desired else "update"
        change = Change(
            TARGET, "dashboard", payload["slug"], payload["name"], action, diff=diff(current, desired)
        )
        change.desired, change.remote = payload, remote
        plan.add(change)

    # -- apply ---------------------------------------------------------------------------------------------

    def apply(self, plan: Plan, *, prune: bool = False, done: list[str], **_: Any) -> None:
        collection_id: int | None = None
        card_ids: dict[str, int] = {}
        for change in plan.changes:
            if change.kind == "collection":
                collection_id = self._apply_collection(change, done)
            elif change.kind == "card" and change.action != "delete":
                card_ids[change.key.split(" (")[0]] = self._apply_card(change, collection_id, done)
        for change in plan.changes:
            if change.kind == "dashboard" and change.action != "delete":
                self._apply_dashboard(change, collection_id, card_ids, done)
        for change in plan.changes:
            if change.action != "delete":
                continue
            if not prune:
                self.progress(
                    f"metabase: {change.kind} {change.title!r}: not archived (publish --prune archives it)"
                )
                continue
            if change.kind == "dashboard":
                self.client.update_dashboard(int(change.key), {"archived": True})
            else:
                self.client.update_card(int(change.key), {"archived": True})
            self._done(done, f"archived {change.kind} {change.title!r} (id {change.key})")

    def _done(self, done: list[str], what: str) -> None:
        done.append(f"metabase {what}")
        self.progress(f"metabase: {what}")

    def _apply_collection(self, change: Change, done: list[str]) -> int:
        if change.action == "unchanged":
            return change.remote["id"]
        created = self.client.create_collection(self.config.collection, COLLECTION_DESCRIPTION)
        self._done(done, f"created collection {self.config.collection!r} (id {created['id']})")
        return created["id"]

    def _apply_card(self, change: Change, collection_id: int | None, done: list[str]) -> int:
        body = {**change.desired, "collection_id": collection_id}
        if change.action == "unchanged":
            self.progress(f"metabase: card {change.title!r}: unchanged")
            return change.remote["id"]
        if change.action == "create":
            body["entity_id"] = change.key.rsplit(" (", 1)[1].rstrip(")")
            created = self.client.create_card(body)
            self._done(done, f"created card {change.title!r} (id {created['id']})")
            return created["id"]
        body["archived"] = False
        self.client.update_card(change.remote["id"], body)
        self._done(done, f"updated card {change.title!r} (id {change.remote['id']})")
        return change.remote["id"]

    def _apply_dashboard(
        self, change: Change, collection_id: int | None, card_ids: dict[str, int], done: list[str]
    ) -> None:
        if change.action == "unchanged":
            self.progress(f"metabase: dashboard {change.title!r}: unchanged")
            return
        payload = change.desired
        remote = change.remote
        if remote is None:
            remote = self.client.create_dashboard(
                {
                    "name": payload["name"],
                    "description": payload.get("description") or None,
                    "collection_id": collection_id,
                    "parameters": payload.get("parameters") or [],
                }
            )
            self._done(done, f"created dashboard {payload['name']!r} (id {remote['id']})")
        body = self._dashboard_body(payload, remote, card_ids)
        self.client.update_dashboard(remote["id"], body)
        self._verify(remote["id"], payload, card_ids)
        self._done(
            done,
            f"laid out dashboard {payload['name']!r} ({len(body['dashcards'])} cards, id {remote['id']})",
        )

    def _dashboard_body(
        self, payload: dict[str, Any], remote: dict[str, Any], card_ids: dict[str, int]
    ) -> dict[str, Any]:
        unused: dict[int, list[int]] = {}
        for dc in remote.get("dashcards") or []:
            unused.setdefault(dc.get("card_id"), []).append(dc["id"])
        dashcards = []
        for index, dc in enumerate(payload["dashcards"], start=1):
            card_id = card_ids[dc["card"]]
            existing = unused.get(card_id) or []
            dashcards.append(
                {
                    "id": existing.pop(0) if existing else -index,
                    "card_id": card_id,
                    "row": dc["row"],
                    "col": dc["col"],
                    "size_x": dc["size_x"],
                    "size_y": dc["size_y"],
                    "series": [],
                    "visualization_settings": copy.deepcopy(dc.get("visualization_settings") or {}),
                    "parameter_mappings": [
                        {"parameter_id": m["parameter_id"], "card_id": card_id, "target": m["target"]}
                        for m in dc.get("parameter_mappings") or []
                    ],
                }
            )
        return {
            "name": payload["name"],
            "description": payload.get("description") or None,
            "parameters": payload.get("parameters") or [],
            "archived": False,
            "width": payload.get("width") or "fixed",
            "tabs": [],
            "dashcards": dashcards,
        }

    def _verify(self, dashboard_id: int, payload: dict[str, Any], card_ids: dict[str, int]) -> None:
        """Metabase has answered 200 while ignoring dashcards (metabase#42642): read back and compare."""
        remote = self.client.dashboard(dashboard_id) or {}
        keys = {v: k for k, v in card_ids.items()}
        current = normal.metabase_dashboard(remote, keys)
        desired = normal.metabase_dashboard(_layout(payload), {})
        if current != desired:
            raise PublishError(
                f"Metabase accepted the layout of dashboard {payload['name']!r} (id {dashboard_id}) "
                f"but does not show it: {'; '.join(diff(current, desired, limit=5))}",
                target=TARGET,
            )


def _layout(payload: dict[str, Any]) -> dict[str, Any]:
    layout = {k: payload.get(k) for k in ("name", "description", "parameters", "dashcards")}
    return {**layout, "width": payload.get("width") or "fixed"}


def _entity_id(card: dict[str, Any]) -> str:
    """The compiler's entity id when it gives one (same derivation), else ours."""
    return card.get("entity_id") or normal.entity_id(card["key"])
