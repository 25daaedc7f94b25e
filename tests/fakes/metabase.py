"""A stateful Metabase (≥ 0.57 API) for the publish tests, validated against the official OpenAPI subset.

State: users (session auth), API keys (with a permission flag), databases by name, collections, cards
(``id``, client-chosen ``entity_id``, ``archived``, the native query and its template tags), dashboards
(``id``, parameters, dashcards). Semantics (metabase.md): ``GET /api/card/:id`` takes an id or a 21-char
entity id; ``PUT /api/dashboard/:id`` with ``dashcards`` replaces the whole set (ids kept, negative ids
created, omitted ones deleted); the removed ``POST /api/dashboard/:id/cards`` answers 404.

Responses carry the query in MBQL 5 ``stages`` (``mbql5=True``, Metabase ≥ 0.57; ``?legacy-mbql=true``
gives the legacy shape) or the legacy shape (``mbql5=False``), with template tags as a map or, with
``tags_as_list=True``, as a list: the publisher must show no diff for any combination.

Request bodies, path and query parameters are validated against the OpenAPI 3.1 subset (which declares
no response bodies); responses are checked where the subset has schemas: every ``parameters`` list and
dashcard ``parameter_mappings``, and each card or dashboard read back, cut to the fields its ``PUT``
accepts, must be a valid ``PUT`` body (what Metabase sends, a client may send back). References the
server would refuse (an unknown database, card, parameter or template tag) are answered 400 and, being
client defects, recorded in ``validation_errors``.
"""

from __future__ import annotations

import copy
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes import specs
from tests.fakes._http import FakeServer, Request

_NANO = re.compile(r"^[A-Za-z0-9_\-]{21}$")
_ROUTES = [
    (method, re.compile("^" + re.sub(r"\{id\}", r"(?P<p>[^/]+)", path.rstrip("/")) + "/?$"), path)
    for method, path in [
        ("POST", "/api/session/"),
        ("GET", "/api/user/current"),
        ("GET", "/api/database/"),
        ("GET", "/api/collection/"),
        ("POST", "/api/collection/"),
        ("GET", "/api/collection/{id}"),
        ("GET", "/api/collection/{id}/items"),
        ("POST", "/api/card/"),
        ("GET", "/api/card/{id}"),
        ("PUT", "/api/card/{id}"),
        ("POST", "/api/dashboard/"),
        ("GET", "/api/dashboard/{id}"),
        ("PUT", "/api/dashboard/{id}"),
    ]
]
_CARD_FIELDS = (
    "name",
    "description",
    "display",
    "visualization_settings",
    "collection_id",
    "type",
    "parameters",
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _nano() -> str:
    return secrets.token_urlsafe(16)[:21]


def _int_or_nano(raw: str) -> int | str | None:
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return raw if _NANO.match(raw) else None


@dataclass
class FakeMetabase(FakeServer):
    api_keys: dict[str, bool] = field(default_factory=lambda: {"mb_test_key": True})  # key → may write
    users: dict[str, str] = field(default_factory=lambda: {"ops@smarterbot.cl": "s3cret-pass"})
    databases: dict[int, dict[str, Any]] = field(default_factory=dict)
    collections: dict[int, dict[str, Any]] = field(default_factory=dict)
    cards: dict[int, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[int, dict[str, Any]] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    mbql5: bool = True
    tags_as_list: bool = False
    next_id: int = 1
    name = "fake-metabase"
    auth_headers = ("x-api-key", "x-metabase-session")

    def __post_init__(self) -> None:
        if not self.databases:
            self.add_database("Supabase", "postgres")
            self.add_database("Chatwoot", "postgres")
        self.collections.setdefault(
            999,
            {
                "id": 999,
                "name": "Ops's Personal Collection",
                "location": "/",
                "archived": False,
                "personal_owner_id": 1,
                "entity_id": _nano(),
                "description": None,
            },
        )

    # -- test helpers ----------------------------------------------------------------------------------------

    def add_database(self, name: str, engine: str) -> int:
        with self.lock:
            did = self._id()
            self.databases[did] = {"id": did, "name": name, "engine": engine, "is_sample": False}
            return did

    def card_by_entity(self, entity_id: str) -> dict[str, Any] | None:
        return next((c for c in self.cards.values() if c["entity_id"] == entity_id), None)

    def live_cards(self) -> list[dict[str, Any]]:
        return [c for c in self.cards.values() if not c["archived"]]

    def edit_card(self, card_id: int, **changes: Any) -> None:
        """What a person editing the question in Metabase does."""
        with self.lock:
            self.cards[card_id].update(changes)
            self.cards[card_id]["updated_at"] = _now()

    def is_login(self, request: Request) -> bool:
        return request.path.rstrip("/") == "/api/session"

    # -- plumbing ------------------------------------------------------------------------------------------

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def fault_body(self, code: int) -> Any:
        return {"message": "Internal server error", "stacktrace": []} if code >= 500 else f"status {code}"

    def handle(self, request: Request) -> tuple[int, Any]:
        if re.match(r"^/api/dashboard/\d+/cards$", request.path):
            return 404, "API endpoint does not exist."  # removed in 0.47; PUT /api/dashboard/:id replaces it
        route = next(
            (
                (m, p.match(request.path), s)
                for m, p, s in _ROUTES
                if m == request.method and p.match(request.path)
            ),
            None,
        )
        if route is None:
            return 404, "API endpoint does not exist."
        method, match, spec_path = route
        if spec_path != "/api/session/":
            denied = self._auth(request)
            if denied:
                return denied
        problems = self._check_request(request, spec_path)
        if problems:
            self.invalid(f"request {request.line}", problems)
            return 400, {"errors": {"body": problems}, "specific-errors": {}}
        name = "_" + re.sub(r"\W+", "_", f"{method} {spec_path}").strip("_").lower()
        raw_id = match.groupdict().get("p")
        status, body = getattr(self, name)(request, raw_id)
        if 200 <= status < 300:
            self._check_response(request.line, body)
        return status, body

    def _auth(self, request: Request) -> tuple[int, Any] | None:
        key, session = request.headers.get("x-api-key"), request.headers.get("x-metabase-session")
        if key is not None:
            if key not in self.api_keys:
                return 401, "Unauthenticated"
            if request.method != "GET" and not self.api_keys[key]:
                return 403, "You don't have permissions to do that."
            return None
        if session in self.sessions:
            return None
        return 401, "Unauthenticated"

    def _check_request(self, request: Request, spec_path: str) -> list[str]:
        problems = []
        for name, values in request.query.items():
            if name not in specs.metabase_parameter_names(request.method, spec_path, "query"):
                problems.append(f"query {name}: not a parameter of {request.method} {spec_path}")
                continue
            validator = specs.metabase_parameter_validator(request.method, spec_path, name)
            value = _query_value(values, validator)
            problems += [f"query {name}: {p}" for p in specs.errors(validator, value)]
        match = next(p.match(request.path) for m, p, s in _ROUTES if s == spec_path and m == request.method)
        raw = match.groupdict().get("p")
        if raw is not None:
            value = int(raw) if raw.isdigit() else raw
            validator = specs.metabase_parameter_validator(request.method, spec_path, "id")
            problems += [f"path id: {p}" for p in specs.errors(validator, value)]
        validator = specs.metabase_request_validator(request.method, spec_path)
        if validator is not None:
            problems += specs.errors(validator, request.body if request.body is not None else {})
        return problems

    def _check_response(self, what: str, body: Any) -> None:
        items = body if isinstance(body, list) else [body]
        for item in items:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("parameters"), list):
                validator = specs.metabase_component_validator("metabase.parameters.schema.parameters")
                self._problems(f"response {what} parameters", specs.errors(validator, item["parameters"]))
            if "dashcards" in item:
                for dc in item["dashcards"]:
                    validator = specs.metabase_component_validator(
                        "metabase.parameters.schema.parameter-mappings"
                    )
                    problems = specs.errors(validator, dc["parameter_mappings"])
                    self._problems(f"response {what} dashcard {dc['id']}", problems)
                back = {
                    k: item[k]
                    for k in ("name", "description", "parameters", "dashcards", "tabs")
                    if k in item
                }
                validator = specs.metabase_request_validator("PUT", "/api/dashboard/{id}")
                self._problems(f"response {what} as a PUT body", specs.errors(validator, back))
            elif "dataset_query" in item:
                back = {k: item[k] for k in (*_CARD_FIELDS, "dataset_query", "archived") if k in item}
                validator = specs.metabase_request_validator("PUT", "/api/card/{id}")
                self._problems(f"response {what} as a PUT body", specs.errors(validator, back))

    def _problems(self, what: str, problems: list[str]) -> None:
        if problems:
            self.invalid(what, problems)

    def _refuse(self, what: str, message: str) -> tuple[int, Any]:
        """A reference Metabase would refuse: 400 like Metabase, and a client defect for the test."""
        self.invalid(what, [message])
        return 400, {"message": message}

    # -- session, user, databases ------------------------------------------------------------------------

    def _post_api_session(self, request: Request, _: None) -> tuple[int, Any]:
        body = request.body
        if self.users.get(body["username"]) != body["password"]:
            return 401, {"errors": {"password": "did not match stored password"}}
        token = str(uuid.uuid4())
        self.sessions.add(token)
        return 200, {"id": token}

    def _get_api_user_current(self, request: Request, _: None) -> tuple[int, Any]:
        return 200, {"id": 1, "email": "ops@smarterbot.cl", "is_superuser": True, "common_name": "Ops"}

    def _get_api_database(self, request: Request, _: None) -> tuple[int, Any]:
        data = list(self.databases.values())
        return 200, {"data": copy.deepcopy(data), "total": len(data)}

    # -- collections -----------------------------------------------------------------------------------------

    def _get_api_collection(self, request: Request, _: None) -> tuple[int, Any]:
        root = {
            "id": "root",
            "name": "Our analytics",
            "location": None,
            "can_write": True,
            "is_personal": False,
        }
        return 200, [root, *copy.deepcopy(list(self.collections.values()))]

    def _post_api_collection(self, request: Request, _: None) -> tuple[int, Any]:
        body = request.body
        parent = body.get("parent_id")
        if parent is not None and parent not in self.collections:
            return 404, "Not found."
        cid = self._id()
        location = "/" if parent is None else f"{self.collections[parent]['location']}{parent}/"
        self.collections[cid] = {
            "id": cid,
            "name": body["name"],
            "description": body.get("description"),
            "location": location,
            "archived": False,
            "entity_id": _nano(),
            "personal_owner_id": None,
        }
        return 200, copy.deepcopy(self.collections[cid])

    def _collection(self, raw: str) -> dict[str, Any] | None:
        key = _int_or_nano(raw)
        return next((c for c in self.collections.values() if key in (c["id"], c["entity_id"])), None)

    def _get_api_collection_id(self, request: Request, raw: str) -> tuple[int, Any]:
        found = self._collection(raw)
        return (200, copy.deepcopy(found)) if found else (404, "Not found.")

    def _get_api_collection_id_items(self, request: Request, raw: str) -> tuple[int, Any]:
        found = self._collection(raw)
        if found is None:
            return 404, "Not found."
        models = set(request.query.get("models", [])) or {"card", "dashboard", "collection"}
        archived = (request.query.get("archived") or ["false"])[0] == "true"
        items = []
        for model, store in (("card", self.cards), ("dashboard", self.dashboards)):
            if model not in models:
                continue
            for obj in store.values():
                if obj["collection_id"] == found["id"] and obj["archived"] == archived:
                    items.append(
                        {
                            "id": obj["id"],
                            "name": obj["name"],
                            "model": model,
                            "entity_id": obj["entity_id"],
                            "description": obj.get("description"),
                            "archived": obj["archived"],
                        }
                    )
        return 200, {
            "data": items,
            "total": len(items),
            "models": sorted(models),
            "limit": None,
            "offset": None,
        }

    # -- cards -------------------------------------------------------------------------------------------

    def _normal_query(self, what: str, query: Any) -> tuple[dict[str, Any] | None, str | None]:
        """Accept both shapes (Metabase normalizes either); keep the legacy shape internally."""
        if not isinstance(query, dict):
            return None, "dataset_query must be a map"
        if "stages" in query:
            stage = (query.get("stages") or [{}])[0]
            native, tags = stage.get("native"), stage.get("template-tags", {})
        elif query.get("type") == "native":
            native, tags = (
                (query.get("native") or {}).get("query"),
                (query.get("native") or {}).get("template-tags", {}),
            )
        else:
            return None, "only native queries are supported by this fake"
        if query.get("database") not in self.databases:
            return None, f"database {query.get('database')!r} does not exist"
        if not isinstance(native, str) or not native.strip():
            return None, "native query must be a non-blank string"
        if isinstance(tags, list):
            tags = {t["name"]: t for t in tags}
        tags = copy.deepcopy(tags)
        for name, tag in tags.items():
            if tag.get("name") != name or not tag.get("type") or not tag.get("display-name"):
                return None, f"template tag {name!r} needs name (= its key), type and display-name"
            if "{{" + name + "}}" not in native.replace(" ", ""):
                return None, f"template tag {name!r} is not used in the query"
            tag.setdefault("id", str(uuid.uuid4()))
        return {
            "database": query["database"],
            "type": "native",
            "native": {"query": native, "template-tags": tags},
        }, None

    def _view_query(self, query: dict[str, Any], legacy: bool) -> dict[str, Any]:
        tags = copy.deepcopy(query["native"]["template-tags"])
        shaped = list(tags.values()) if self.tags_as_list else tags
        if legacy or not self.mbql5:
            return {
                "database": query["database"],
                "type": "native",
                "native": {"query": query["native"]["query"], "template-tags": shaped},
            }
        return {
            "lib/type": "mbql/query",
            "database": query["database"],
            "stages": [
                {"lib/type": "mbql.stage/native", "native": query["native"]["query"], "template-tags": shaped}
            ],
        }

    def _card_view(self, card: dict[str, Any], legacy: bool = False) -> dict[str, Any]:
        out = copy.deepcopy(card)
        out["dataset_query"] = self._view_query(card["dataset_query"], legacy)
        return out

    def _post_api_card(self, request: Request, _: None) -> tuple[int, Any]:
        body = request.body
        query, problem = self._normal_query("card", body["dataset_query"])
        if problem:
            return self._refuse(f"POST /api/card/ {body['name']!r}", problem)
        entity_id = body.get("entity_id") or _nano()
        if not _NANO.match(entity_id):
            return 400, {"errors": {"entity_id": "value must be a valid NanoID string"}}
        if self.card_by_entity(entity_id):
            return 400, {"message": f"a card with entity_id {entity_id} already exists"}
        collection = body.get("collection_id")
        if collection is not None and collection not in self.collections:
            return 404, "Not found."
        cid = self._id()
        self.cards[cid] = {
            "id": cid,
            "entity_id": entity_id,
            "name": body["name"],
            "description": body.get("description"),
            "display": body["display"],
            "visualization_settings": copy.deepcopy(body["visualization_settings"]),
            "dataset_query": query,
            "collection_id": collection,
            "type": body.get("type") or "question",
            "parameters": copy.deepcopy(body.get("parameters") or []),
            "archived": False,
            "query_type": "native",
            "database_id": query["database"],
            "created_at": _now(),
            "updated_at": _now(),
            "creator_id": 1,
        }
        return 200, self._card_view(self.cards[cid])

    def _find_card(self, raw: str) -> dict[str, Any] | None:
        key = _int_or_nano(raw)
        return next((c for c in self.cards.values() if key in (c["id"], c["entity_id"])), None)

    def _get_api_card_id(self, request: Request, raw: str) -> tuple[int, Any]:
        card = self._find_card(raw)
        legacy = (request.query.get("legacy-mbql") or ["false"])[0] == "true"
        return (200, self._card_view(card, legacy)) if card else (404, "Not found.")

    def _put_api_card_id(self, request: Request, raw: str) -> tuple[int, Any]:
        card = self.cards.get(int(raw))
        if card is None:
            return 404, "Not found."
        body = request.body
        if "dataset_query" in body:
            query, problem = self._normal_query("card", body["dataset_query"])
            if problem:
                return self._refuse(f"PUT /api/card/{raw}", problem)
            card["dataset_query"], card["database_id"] = query, query["database"]
        for key in (*_CARD_FIELDS, "archived"):
            if key in body and body[key] is not None:
                card[key] = copy.deepcopy(body[key])
        card["updated_at"] = _now()
        return 200, self._card_view(card)

    # -- dashboards ------------------------------------------------------------------------------------------

    def _dashboard_view(self, dash: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(dash)
        for dc in out["dashcards"]:
            card = self.cards.get(dc["card_id"])
            if card:
                dc["card"] = {k: card[k] for k in ("id", "entity_id", "name", "display", "archived")}
        return out

    def _post_api_dashboard(self, request: Request, _: None) -> tuple[int, Any]:
        body = request.body
        collection = body.get("collection_id")
        if collection is not None and collection not in self.collections:
            return 404, "Not found."
        did = self._id()
        self.dashboards[did] = {
            "id": did,
            "entity_id": _nano(),
            "name": body["name"],
            "description": body.get("description"),
            "collection_id": collection,
            "parameters": copy.deepcopy(body.get("parameters") or []),
            "dashcards": [],
            "tabs": [],
            "archived": False,
            "width": "fixed",
            "created_at": _now(),
            "updated_at": _now(),
        }
        return 200, self._dashboard_view(self.dashboards[did])

    def _get_api_dashboard_id(self, request: Request, raw: str) -> tuple[int, Any]:
        key = _int_or_nano(raw)
        dash = next((d for d in self.dashboards.values() if key in (d["id"], d["entity_id"])), None)
        return (200, self._dashboard_view(dash)) if dash else (404, "Not found.")

    def _put_api_dashboard_id(self, request: Request, raw: str) -> tuple[int, Any]:
        dash = self.dashboards.get(int(raw))
        if dash is None:
            return 404, "Not found."
        body = request.body
        parameters = body["parameters"] if body.get("parameters") is not None else dash["parameters"]
        if body.get("dashcards") is not None:
            dashcards, problem = self._replace_dashcards(dash, body["dashcards"], parameters)
            if problem:
                return self._refuse(f"PUT /api/dashboard/{raw}", problem)
            dash["dashcards"] = dashcards
        for key in ("name", "description", "collection_id", "archived", "width"):
            if key in body and body[key] is not None:
                dash[key] = body[key]
        dash["parameters"] = copy.deepcopy(parameters)
        if body.get("tabs") is not None:
            dash["tabs"] = copy.deepcopy(body["tabs"])
        dash["updated_at"] = _now()
        return 200, self._dashboard_view(dash)

    def _replace_dashcards(
        self, dash: dict[str, Any], wanted: list[dict[str, Any]], parameters: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], str | None]:
        current = {dc["id"]: dc for dc in dash["dashcards"]}
        parameter_ids = {p["id"] for p in parameters}
        out = []
        for item in wanted:
            if item["id"] >= 0 and item["id"] not in current:
                return (
                    [],
                    f"dashcard {item['id']} is not on dashboard {dash['id']} (use a negative id to add one)",
                )
            card = self.cards.get(item.get("card_id"))
            if card is None:
                return [], f"dashcard {item['id']}: card {item.get('card_id')!r} does not exist"
            tags = card["dataset_query"]["native"]["template-tags"]
            for mapping in item.get("parameter_mappings") or []:
                if mapping["parameter_id"] not in parameter_ids:
                    unknown = mapping["parameter_id"]
                    return [], f"dashcard {item['id']}: parameter {unknown!r} is not a dashboard parameter"
                if mapping.get("card_id", card["id"]) != card["id"]:
                    return (
                        [],
                        f"dashcard {item['id']}: mapping for card {mapping['card_id']} on card {card['id']}",
                    )
                target = mapping["target"]
                tag = target[1][1] if len(target) > 1 and isinstance(target[1], list) else None
                if target[1][0] == "template-tag" and tag not in tags:
                    return [], f"dashcard {item['id']}: card {card['id']} has no template tag {tag!r}"
            base = current.get(item["id"]) or {
                "id": self._id(),
                "created_at": _now(),
                "dashboard_id": dash["id"],
            }
            base.update(
                card_id=card["id"],
                row=item["row"],
                col=item["col"],
                size_x=item["size_x"],
                size_y=item["size_y"],
                parameter_mappings=copy.deepcopy(item.get("parameter_mappings") or []),
                series=copy.deepcopy(item.get("series") or []),
                visualization_settings=copy.deepcopy(item.get("visualization_settings") or {}),
                dashboard_tab_id=item.get("dashboard_tab_id"),
                updated_at=_now(),
            )
            out.append(base)
        return out, None


def _query_value(values: list[str], validator: Any) -> Any:
    """A query string value as its schema's type (arrays repeat the parameter; booleans are words)."""
    schema_text = str(validator.schema)
    if "'array'" in schema_text:
        return values
    raw = values[-1]
    if raw in ("true", "false") and "boolean" in schema_text:
        return raw == "true"
    return int(raw) if raw.isdigit() and "integer" in schema_text else raw
