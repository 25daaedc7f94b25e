"""Metabase: compile a dashboard into the cards and the dashboard ``publish`` sends (pure, no network).

One payload per dashboard (``build/metabase/<slug>.json``)::

    {"format": "smarter-obs/metabase@1", "slug", "key": "smarter-obs:dashboard:<slug>",
     "collection": {"name"},
     "cards": [{"key": "<slug>/<panel id>", "entity_id", "datasource": "supabase"|"chatwoot",
                "body": <POST /api/card body>}],
     "dashboard": {"create": <POST /api/dashboard body>,
                   "layout": <PUT /api/dashboard/:id body: parameters, tabs, dashcards>}}

Server ids are not known here, so the bodies leave them open and name what ``publish`` fills in:
``body.dataset_query.database`` is ``null`` (the Metabase database bound to the card's ``datasource``),
``collection_id`` is absent, and each dashcard and parameter mapping carries ``card_key`` where the API
takes ``card_id``. Dashcard ids are negative (Metabase creates them). Everything else is final and
deterministic: a card's ``entity_id`` derives from its key (:func:`card_entity_id`), template-tag and
parameter ids from the dashboard, card and tag names, so two builds of the same definitions are equal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smarter_obs.dashboards.errors import DefinitionError
from smarter_obs.dashboards.metabase import (
    DISPLAY_OF_KIND,
    MetabaseCard,
    MetabaseDashboard,
    MetabaseParameter,
)

if TYPE_CHECKING:
    from smarter_obs.dashboards.model import Dashboard, Panel, Variable
    from smarter_obs.dashboards.project import Project

__all__ = ["FORMAT", "card_entity_id", "card_key", "compile_dashboard", "write_build"]

FORMAT = "smarter-obs/metabase@1"
# Fixed: template-tag ids (UUIDv5 in this namespace) must not change between builds.
_NAMESPACE = uuid.UUID("5b0c3c1e-6d1f-4f35-9a51-2f8f6a3c9e11")


def card_key(dashboard: Dashboard, panel: Panel) -> str:
    """The stable key of a card: ``<dashboard slug>/<panel id>`` (titles may change, ids do not)."""
    return f"{dashboard.slug}/{panel.id}"


def card_entity_id(key: str) -> str:
    """Metabase ``entity_id`` (21 characters of ``[A-Za-z0-9_-]``) derived from a card key."""
    digest = hashlib.sha256(f"smarter-obs:card:{key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:21]


def _parameter_id(dashboard: Dashboard, name: str) -> str:
    return hashlib.sha256(f"smarter-obs:parameter:{dashboard.slug}:{name}".encode()).hexdigest()[:8]


def _parameter_settings(variable: Variable) -> MetabaseParameter:
    extra = variable.extra
    if extra is None:
        return MetabaseParameter()
    if not isinstance(extra, MetabaseParameter):
        raise DefinitionError(
            f"variable {variable.name!r}: a Metabase filter's extra must be MetabaseParameter, got "
            f"{type(extra).__name__}"
        )
    return extra


def _card_settings(dashboard: Dashboard, panel: Panel) -> MetabaseCard:
    extra = panel.extra if panel.extra is not None else MetabaseCard()
    if not isinstance(extra, MetabaseCard):
        raise DefinitionError(
            f"{dashboard.slug} › {panel.title}: a Metabase card's extra must be MetabaseCard, got "
            f"{type(extra).__name__}"
        )
    return extra


def _card_sql(project: Project, dashboard: Dashboard, panel: Panel) -> str:
    """The card's native query: the Jinja rendered, Metabase's tags and optional clauses kept."""
    from smarter_obs.dashboards.sql import dialect_for, template_context
    from smarter_obs.dashboards.sql.render import render_file

    dialect = dialect_for("metabase", "postgres")
    datasource = dashboard.panel_datasource(panel)
    rendered = render_file(
        project.queries_dir,
        project.sql_path(dashboard, panel.sql or ""),
        template_context(dashboard, panel, datasource),
        options=dict(dialect.jinja_options),
    )
    lines = [line.rstrip() for line in rendered.text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def _tag_names(sql: str) -> list[str]:
    from smarter_obs.dashboards.sql.metabase import iter_params, parse_template

    seen: dict[str, None] = {}
    for param in iter_params(parse_template(sql)):
        seen.setdefault(param.name, None)
    return list(seen)


def _card(project: Project, dashboard: Dashboard, panel: Panel) -> dict[str, Any]:
    if not panel.sql:
        raise DefinitionError(f"{dashboard.slug} › {panel.title}: a Metabase card needs sql='<file>'")
    if not panel.description.strip():
        raise DefinitionError(
            f"{dashboard.slug} › {panel.title}: a Metabase card's description states its definition; "
            "write it in Panel(description=...)"
        )
    settings = _card_settings(dashboard, panel)
    key = card_key(dashboard, panel)
    sql = _card_sql(project, dashboard, panel)
    variables = {v.name: v for v in dashboard.variables}
    tags: dict[str, Any] = {}
    parameters: list[dict[str, Any]] = []
    for name in _tag_names(sql):
        variable = variables.get(name)
        if variable is None:
            raise DefinitionError(
                f"{dashboard.slug} › {panel.title}: template tag {{{{{name}}}}} is not a parameter of the "
                "dashboard (run `smarter-obs validate`)"
            )
        param = _parameter_settings(variable)
        tag_id = str(uuid.uuid5(_NAMESPACE, f"{key}:{name}"))
        tags[name] = {
            "id": tag_id,
            "name": name,
            "display-name": variable.title,
            "type": param.tag_type,
            "required": False,
        }
        parameters.append(
            {
                "id": tag_id,
                "type": param.parameter_type,
                "target": ["variable", ["template-tag", name]],
                "name": variable.title,
                "slug": name,
            }
        )
    body: dict[str, Any] = {
        "name": panel.title,
        "description": panel.description.strip(),
        "type": "question",
        "display": settings.display or DISPLAY_OF_KIND[panel.kind],
        "visualization_settings": json.loads(json.dumps(settings.visualization_settings)),
        "dataset_query": {
            "type": "native",
            "database": None,
            "native": {"query": sql, "template-tags": tags},
        },
        "parameters": parameters,
        "entity_id": card_entity_id(key),
    }
    datasource = dashboard.panel_datasource(panel)
    return {"key": key, "entity_id": body["entity_id"], "datasource": datasource, "body": body}


def compile_dashboard(project: Project, dashboard: Dashboard) -> dict[str, Any]:
    """The payload of one Metabase dashboard (see the module docstring)."""
    if dashboard.target != "metabase":
        raise DefinitionError(f"dashboard {dashboard.slug!r} targets {dashboard.target}, not metabase")
    settings = dashboard.extra if isinstance(dashboard.extra, MetabaseDashboard) else MetabaseDashboard()
    parameters = []
    for variable in dashboard.variables:
        param = _parameter_settings(variable)
        parameters.append(
            {
                "id": _parameter_id(dashboard, variable.name),
                "name": variable.title,
                "slug": variable.name,
                "type": param.parameter_type,
                "sectionId": param.section_id,
            }
        )
    by_slug = {p["slug"]: p["id"] for p in parameters}
    cards, dashcards = [], []
    for index, panel in enumerate(dashboard.panels, start=1):
        if panel.layout is None:
            raise DefinitionError(
                f"{dashboard.slug} › {panel.title}: a Metabase card needs layout=Layout(...)"
            )
        card = _card(project, dashboard, panel)
        cards.append(card)
        tags = card["body"]["dataset_query"]["native"]["template-tags"]
        dashcards.append(
            {
                "id": -index,
                "card_key": card["key"],
                "row": panel.layout.y,
                "col": panel.layout.x,
                "size_x": panel.layout.w,
                "size_y": panel.layout.h,
                "series": [],
                "visualization_settings": {},
                "parameter_mappings": [
                    {
                        "parameter_id": by_slug[name],
                        "card_key": card["key"],
                        "target": ["variable", ["template-tag", name]],
                    }
                    for name in tags
                ],
            }
        )
    description = dashboard.description or None
    return {
        "format": FORMAT,
        "slug": dashboard.slug,
        "key": f"smarter-obs:dashboard:{dashboard.slug}",
        "collection": {"name": settings.collection},
        "cards": cards,
        "dashboard": {
            "create": {"name": dashboard.title, "description": description, "parameters": parameters},
            "layout": {
                "name": dashboard.title,
                "description": description,
                "width": settings.width,
                "parameters": parameters,
                "tabs": [],
                "dashcards": dashcards,
            },
        },
    }


def write_build(project: Project, payloads: dict[str, dict[str, Any]], build_dir: Path) -> list[Path]:
    """Write ``build_dir/metabase/<slug>.json`` for each payload (and remove stale ones); return the files."""
    folder = build_dir / "metabase"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, payload in sorted(payloads.items()):
        path = folder / f"{slug}.json"
        text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a file
        written.append(path)
    for stale in folder.glob("*.json"):
        if stale not in written:
            stale.unlink()
    return written
