"""One normal form per object kind, so that what we send and what a server returns compare equal.

Server-managed fields are dropped (ids, ``version``, ``iteration``, timestamps, creators); Metabase's
query shapes (legacy ``native`` or MBQL 5 ``stages``), template tags (a map or a list, tag ids, MBQL 5
field refs) and server-assigned ids (card ids inside dashcards → the card's stable key) are folded into
one shape. ``plan`` and ``doctor`` compare these forms; a server version never shows a permanent diff.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

#: Tags starting with this mark a Grafana dashboard as published by smarter-obs; the rest is the hash of
#: the content we wrote (see ``marker_tag``).
MARKER_PREFIX = "smarter-obs:"
_GRAFANA_SERVER_FIELDS = ("id", "version", "iteration")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any, length: int = 16) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()[:length]


# -- Grafana ------------------------------------------------------------------------------------------------


def grafana_dashboard(model: Mapping[str, Any]) -> dict[str, Any]:
    """A dashboard JSON without server fields and without our marker tag."""
    out = {k: copy.deepcopy(v) for k, v in model.items() if k not in _GRAFANA_SERVER_FIELDS}
    if "tags" in out:
        out["tags"] = [t for t in out["tags"] if not str(t).startswith(MARKER_PREFIX)]
    return out


def marker_tag(normal: Mapping[str, Any]) -> str:
    """``smarter-obs:<hash of the content>``: kept by Grafana (and by UI saves, which keep tags), so a
    later read tells "what we wrote" from "edited on the server" without any local state."""
    return MARKER_PREFIX + content_hash(normal)


def marker_of(model: Mapping[str, Any]) -> str | None:
    return next((t for t in model.get("tags", []) if str(t).startswith(MARKER_PREFIX)), None)


def with_marker(normal: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(normal))
    out["tags"] = [*out.get("tags", []), marker_tag(normal)]
    return out


def grafana_datasource(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a datasource we manage (secrets only as "is set")."""
    secure = ds.get("secureJsonFields") or {k: True for k in ds.get("secureJsonData") or {}}
    return {
        "uid": ds.get("uid"),
        "name": ds.get("name"),
        "type": ds.get("type"),
        "access": ds.get("access", "proxy"),
        "url": ds.get("url", ""),
        "user": ds.get("user", ""),
        "jsonData": copy.deepcopy(ds.get("jsonData") or {}),
        "secrets set": sorted(k for k, v in secure.items() if v),
    }


# -- Metabase -----------------------------------------------------------------------------------------------


def entity_id(key: str) -> str:
    """The card's deterministic 21-character NanoID, from its stable key."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"smarter-obs:card:{key}".encode()).digest()).decode()[:21]


def tag_id(key: str, tag: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"smarter-obs:card:{key}:tag:{tag}"))


def _field_ref(ref: Any) -> Any:
    """``["field", {"lib/uuid": …}, 12]`` (MBQL 5), ``["field", 12, null]`` (legacy) → ``["field", 12]``."""
    if isinstance(ref, list) and len(ref) >= 2 and ref[0] == "field":
        ids = [x for x in ref[1:] if isinstance(x, (int, str))]
        return ["field", ids[0] if ids else None]
    return ref


def template_tags(tags: Any) -> dict[str, dict[str, Any]]:
    """Tags as ``{name: tag}`` whatever the shape, without the server's ids, field refs in one form."""
    if isinstance(tags, list):
        tags = {t.get("name"): t for t in tags}
    out = {}
    for name, tag in (tags or {}).items():
        clean = {k: copy.deepcopy(v) for k, v in tag.items() if k != "id" and v is not None}
        if "dimension" in clean:
            clean["dimension"] = _field_ref(clean["dimension"])
        out[name] = clean
    return dict(sorted(out.items()))


def native_query(dataset_query: Mapping[str, Any]) -> tuple[Any, str, dict[str, dict[str, Any]]]:
    """(database id, SQL, template tags) of a native query in the legacy or the MBQL 5 shape."""
    if "stages" in dataset_query:
        stage = (dataset_query.get("stages") or [{}])[0]
        return (
            dataset_query.get("database"),
            stage.get("native", ""),
            template_tags(stage.get("template-tags")),
        )
    native = dataset_query.get("native") or {}
    return dataset_query.get("database"), native.get("query", ""), template_tags(native.get("template-tags"))


def metabase_card(card: Mapping[str, Any], database_names: Mapping[Any, str]) -> dict[str, Any]:
    """A card (as sent or as read back) in normal form; ``database_names`` maps database ids to names."""
    database, sql, tags = native_query(card.get("dataset_query") or {})
    return {
        "name": card.get("name"),
        "description": card.get("description") or None,
        "display": card.get("display"),
        "visualization_settings": copy.deepcopy(card.get("visualization_settings") or {}),
        "database": database_names.get(database, database),
        "query": sql,
        "template_tags": tags,
        "collection_id": card.get("collection_id"),
        "archived": bool(card.get("archived", False)),
    }


def _parameter(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in sorted(p.items()) if v is not None}


def metabase_dashboard(dash: Mapping[str, Any], card_keys: Mapping[Any, str]) -> dict[str, Any]:
    """A dashboard in normal form; ``card_keys`` maps card ids to stable card keys (dashcards carry keys)."""
    dashcards = []
    for dc in dash.get("dashcards") or []:
        key = (
            dc.get("card")
            if "card" in dc and isinstance(dc.get("card"), str)
            else card_keys.get(dc.get("card_id"))
        )
        mappings = sorted(
            (
                {"parameter_id": m["parameter_id"], "target": m["target"]}
                for m in dc.get("parameter_mappings") or []
            ),
            key=canonical,
        )
        dashcards.append(
            {
                "card": key if key is not None else f"card {dc.get('card_id')} (not managed)",
                "row": dc.get("row"),
                "col": dc.get("col"),
                "size_x": dc.get("size_x"),
                "size_y": dc.get("size_y"),
                "parameter_mappings": mappings,
                "visualization_settings": copy.deepcopy(dc.get("visualization_settings") or {}),
            }
        )
    dashcards.sort(key=lambda d: (d["row"], d["col"], str(d["card"])))
    return {
        "name": dash.get("name"),
        "description": dash.get("description") or None,
        "parameters": sorted(
            (_parameter(p) for p in dash.get("parameters") or []), key=lambda p: str(p.get("id"))
        ),
        "dashcards": dashcards,
        "width": dash.get("width") or "fixed",
        "archived": bool(dash.get("archived", False)),
    }
