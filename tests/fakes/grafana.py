"""A stateful Grafana (11.x legacy ``/api``) for the publish tests, validated against the official specs.

State: folders (uid, title, version), datasources (uid, name, type, jsonData; secure fields kept aside and
shown only as ``secureJsonFields``), dashboards (uid, id, version, folder, the JSON exactly as posted,
like Grafana, which stores the posted model and migrates only when a browser loads it).

Semantics (grafana.md §7): ``POST /api/dashboards/db`` creates or updates by uid; a ``version`` that is
not the stored one → 412 ``version-mismatch`` unless ``overwrite``; another dashboard with the same title
in the folder → 412 ``name-exists``; omitting ``folderUid`` moves the dashboard to the root; uid ≤ 40
characters; an unknown ``folderUid`` → 400. Service-account tokens (``Authorization: Bearer``) carry a
role: a missing or unknown token → 401, a Viewer writing or an Editor writing datasources → 403.

Every request body is validated against the Swagger 2.0 spec in strict mode (an undocumented field is a
client defect), every posted dashboard against the foundation SDK's dashboard JSON schema, every response
against the spec's schema for its status. A failure is recorded in ``validation_errors`` and answered 400
(request) or 500 (response).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes import specs
from tests.fakes._http import FakeServer, Request

_UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile("^/api" + re.sub(r"\{[^}]+\}", r"(?P<p>[^/]+)", path) + "$"), path)
    for method, path in [
        ("GET", "/health"),
        ("GET", "/folders"),
        ("POST", "/folders"),
        ("GET", "/folders/{folder_uid}"),
        ("GET", "/datasources"),
        ("POST", "/datasources"),
        ("GET", "/datasources/uid/{uid}"),
        ("PUT", "/datasources/uid/{uid}"),
        ("GET", "/dashboards/uid/{uid}"),
        ("DELETE", "/dashboards/uid/{uid}"),
        ("POST", "/dashboards/db"),
        ("GET", "/search"),
    ]
]
_WRITE_ROLES = {"Editor", "Admin"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "dashboard"


@dataclass
class FakeGrafana(FakeServer):
    tokens: dict[str, str] = field(default_factory=lambda: {"glsa_test_admin": "Admin"})
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    secure: dict[str, dict[str, str]] = field(default_factory=dict)  # datasource uid → secureJsonData
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1
    name = "fake-grafana"

    # -- test helpers ----------------------------------------------------------------------------------------

    def add_folder(self, uid: str, title: str) -> None:
        with self.lock:
            self.folders[uid] = {
                "uid": uid,
                "title": title,
                "id": self._id(),
                "version": 1,
                "created": _now(),
            }

    def add_datasource(self, uid: str, name: str, type_: str, **extra: Any) -> None:
        with self.lock:
            self.datasources[uid] = {
                "uid": uid,
                "name": name,
                "type": type_,
                "id": self._id(),
                "orgId": 1,
                "access": "proxy",
                "url": "",
                "user": "",
                "isDefault": False,
                "basicAuth": False,
                "withCredentials": False,
                "readOnly": False,
                "jsonData": {},
                "version": 1,
                **extra,
            }

    def edit_dashboard(self, uid: str, change, user: str = "ana@smarterbot.cl") -> int:
        """A person saving in the UI: ``change(model)`` edits the stored JSON, the version goes up."""
        with self.lock:
            entry = self.dashboards[uid]
            change(entry["dashboard"])
            entry["version"] += 1
            entry["dashboard"]["version"] = entry["version"]
            entry["updated"], entry["updatedBy"] = _now(), user
            return entry["version"]

    def dashboard(self, uid: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.dashboards[uid]["dashboard"])

    def is_login(self, request: Request) -> bool:
        return False

    # -- plumbing ------------------------------------------------------------------------------------------

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def fault_body(self, code: int) -> Any:
        return {"message": "Internal Server Error" if code >= 500 else f"status {code}"}

    def handle(self, request: Request) -> tuple[int, Any]:
        route = next(
            (
                (m, p.match(request.path), s)
                for m, p, s in _ROUTES
                if m == request.method and p.match(request.path)
            ),
            None,
        )
        if route is None:
            return 404, {"message": "Not found"}
        method, match, spec_path = route
        if spec_path != "/health":
            denied = self._auth(request, spec_path)
            if denied:
                return self._checked(request.method, spec_path, *denied)
        problems = self._check_request(request, spec_path)
        if problems:
            self.invalid(f"request {request.line}", problems)
            return 400, {"message": f"bad request: {problems}"}
        param = match.groupdict().get("p")
        status, body = getattr(self, "_" + re.sub(r"\W+", "_", f"{method} {spec_path}").strip("_").lower())(
            request, param
        )
        return self._checked(request.method, spec_path, status, body)

    def _auth(self, request: Request, spec_path: str) -> tuple[int, Any] | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else None
        role = self.tokens.get(token or "")
        if role is None:
            return 401, {"message": "Invalid API key" if token else "Unauthorized"}
        if request.method == "GET":
            return None
        if role not in _WRITE_ROLES or (spec_path.startswith("/datasources") and role != "Admin"):
            scope = "datasources:write" if spec_path.startswith("/datasources") else "dashboards:write"
            return 403, {
                "message": "You'll need additional permissions to perform this action. "
                f"Permissions needed: {scope}"
            }
        return None

    def _check_request(self, request: Request, spec_path: str) -> list[str]:
        known = specs.grafana_query_parameters(request.method, spec_path)
        problems = [
            f"query {name}: not a parameter of {spec_path}" for name in request.query if name not in known
        ]
        validator = specs.grafana_request_validator(request.method, spec_path)
        if validator is not None:
            if not isinstance(request.body, dict):
                return [*problems, "body: a JSON object is required"]
            problems += specs.errors(validator, request.body)
        elif request.body is not None:
            problems.append("body: this operation takes no body")
        if spec_path == "/dashboards/db" and isinstance(request.body, dict):
            problems += [f"dashboard: {p}" for p in specs.dashboard_errors(request.body.get("dashboard"))]
        return problems

    def _checked(self, method: str, spec_path: str, status: int, body: Any) -> tuple[int, Any]:
        try:
            validator = specs.grafana_response_validator(method, spec_path, status)
        except KeyError:  # a status the spec does not list for this path: errors still have the error shape
            validator = specs.grafana_response_validator("POST", "/dashboards/db", 400)
        problems = specs.errors(validator, body)
        if problems:
            self.invalid(f"response {method} {spec_path} {status}", problems)
            return 500, {"message": f"fake grafana response failed schema validation: {problems}"}
        return status, body

    def _get_health(self, request: Request, _: None) -> tuple[int, Any]:
        return 200, {"commit": "fake", "database": "ok", "version": "11.4.0"}

    # -- folders ---------------------------------------------------------------------------------------------

    def _get_folders(self, request: Request, _: None) -> tuple[int, Any]:
        parent = (request.query.get("parentUid") or [""])[0]
        hits = [
            {"id": f["id"], "uid": f["uid"], "title": f["title"], **({"parentUid": parent} if parent else {})}
            for f in self.folders.values()
            if f.get("parentUid", "") == parent
        ]
        return 200, hits

    def _folder(self, f: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f["id"],
            "uid": f["uid"],
            "title": f["title"],
            "url": f"/dashboards/f/{f['uid']}/{_slug(f['title'])}",
            "version": f["version"],
            "orgId": 1,
            "created": f["created"],
            "updated": f["created"],
            "createdBy": "smarter-obs",
            "updatedBy": "smarter-obs",
            "canAdmin": True,
            "canEdit": True,
            "canSave": True,
            "canDelete": True,
            "hasAcl": False,
        }

    def _post_folders(self, request: Request, _: None) -> tuple[int, Any]:
        body = request.body
        uid, title = body.get("uid") or f"f{self.next_id}", body.get("title", "")
        if not title.strip():
            return 400, {"message": "folder title cannot be empty"}
        if len(uid) > 40 or not _UID_RE.match(uid):
            return 400, {"message": "uid contains illegal characters" if len(uid) <= 40 else "uid too long"}
        if uid in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        self.add_folder(uid, title)
        return 200, self._folder(self.folders[uid])

    def _get_folders_folder_uid(self, request: Request, uid: str) -> tuple[int, Any]:
        if uid not in self.folders:
            return 404, {"message": "folder not found", "status": "not-found"}
        return 200, self._folder(self.folders[uid])

    # -- datasources -----------------------------------------------------------------------------------------

    def _ds_view(self, ds: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(ds)
        out["secureJsonFields"] = {key: True for key in self.secure.get(ds["uid"], {})}
        return out

    def _get_datasources(self, request: Request, _: None) -> tuple[int, Any]:
        fields = ("id", "uid", "orgId", "name", "type", "access", "url", "user", "isDefault", "jsonData")
        return 200, [{k: ds[k] for k in fields if k in ds} for ds in self.datasources.values()]

    def _get_datasources_uid_uid(self, request: Request, uid: str) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        return 200, self._ds_view(self.datasources[uid])

    def _ds_write(self, uid: str, body: dict[str, Any], version: int) -> dict[str, Any]:
        fields = ("name", "type", "access", "url", "user", "isDefault", "basicAuth", "withCredentials")
        ds = self.datasources[uid]
        ds.update({k: body[k] for k in fields if k in body})
        ds["jsonData"] = copy.deepcopy(body.get("jsonData", {}))
        ds["version"] = version
        secure = self.secure.setdefault(uid, {})
        secure.update(body.get("secureJsonData") or {})
        return self._ds_view(ds)

    def _post_datasources(self, request: Request, _: None) -> tuple[int, Any]:
        body = request.body
        if not body.get("name") or not body.get("type"):
            return 400, {"message": "Required field missing: name and type"}
        if any(ds["name"] == body["name"] for ds in self.datasources.values()):
            return 409, {"message": "data source with the same name already exists"}
        uid = body.get("uid") or f"ds{self.next_id}"
        if uid in self.datasources:
            return 409, {"message": "data source with the same uid already exists"}
        self.add_datasource(uid, body["name"], body["type"])
        view = self._ds_write(uid, body, 1)
        return 200, {
            "datasource": view,
            "id": view["id"],
            "message": "Datasource added",
            "name": view["name"],
        }

    def _put_datasources_uid_uid(self, request: Request, uid: str) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        body = request.body
        if not body.get("name") or not body.get("type"):
            return 400, {"message": "Required field missing: name and type"}
        current = self.datasources[uid]["version"]
        if "version" in body and body["version"] != current:
            return 409, {"message": "Datasource has already been updated by someone else"}
        view = self._ds_write(uid, body, current + 1)
        return 200, {
            "datasource": view,
            "id": view["id"],
            "message": "Datasource updated",
            "name": view["name"],
        }

    # -- dashboards ------------------------------------------------------------------------------------------

    def _meta(self, entry: dict[str, Any]) -> dict[str, Any]:
        folder = self.folders.get(entry["folderUid"])
        slug = _slug(entry["dashboard"].get("title", ""))
        meta = {
            "type": "db",
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canStar": True,
            "canDelete": True,
            "slug": slug,
            "url": f"/d/{entry['dashboard']['uid']}/{slug}",
            "expires": "0001-01-01T00:00:00Z",
            "created": entry["created"],
            "updated": entry["updated"],
            "updatedBy": entry["updatedBy"],
            "createdBy": entry["createdBy"],
            "version": entry["version"],
            "hasAcl": False,
            "isFolder": False,
            "provisioned": False,
            "provisionedExternalId": "",
        }
        if folder:
            meta.update(
                folderUid=folder["uid"],
                folderTitle=folder["title"],
                folderUrl=f"/dashboards/f/{folder['uid']}/{_slug(folder['title'])}",
            )
        return meta

    def _get_dashboards_uid_uid(self, request: Request, uid: str) -> tuple[int, Any]:
        entry = self.dashboards.get(uid)
        if entry is None:
            return 404, {"message": "Dashboard not found", "status": "not-found"}
        return 200, {"dashboard": copy.deepcopy(entry["dashboard"]), "meta": self._meta(entry)}

    def _delete_dashboards_uid_uid(self, request: Request, uid: str) -> tuple[int, Any]:
        entry = self.dashboards.pop(uid, None)
        if entry is None:
            return 404, {"message": "Dashboard not found", "status": "not-found"}
        title = entry["dashboard"].get("title", "")
        return 200, {"uid": uid, "title": title, "message": f"Dashboard {title} deleted"}

    def _post_dashboards_db(self, request: Request, _: None) -> tuple[int, Any]:
        body = request.body
        dash = copy.deepcopy(body.get("dashboard") or {})
        title, uid = (dash.get("title") or "").strip(), dash.get("uid") or f"u{self.next_id}"
        folder_uid = body.get("folderUid") or ""
        if not title:
            return 400, {"message": "Dashboard title cannot be empty"}
        if len(uid) > 40:
            return 400, {"message": "uid too long, max 40 characters"}
        if not _UID_RE.match(uid):
            return 400, {"message": "uid contains illegal characters"}
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found"}
        existing = self.dashboards.get(uid)
        if dash.get("id") is not None and (existing is None or existing["id"] != dash["id"]):
            return 404, {"message": "Dashboard not found", "status": "not-found"}
        for other_uid, other in self.dashboards.items():
            if other_uid != uid and other["folderUid"] == folder_uid and other["dashboard"]["title"] == title:
                return 412, {
                    "message": "A dashboard with the same name in the folder already exists",
                    "status": "name-exists",
                }
        if (
            existing is not None
            and dash.get("version", 0) != existing["version"]
            and not body.get("overwrite")
        ):
            return 412, {
                "message": "The dashboard has been changed by someone else",
                "status": "version-mismatch",
            }
        version = existing["version"] + 1 if existing else 1
        entry = existing or {"id": self._id(), "created": _now(), "createdBy": "smarter-obs"}
        dash.update(id=entry["id"], uid=uid, version=version)
        entry.update(
            dashboard=dash,
            version=version,
            folderUid=folder_uid,
            updated=_now(),
            updatedBy="smarter-obs",
            message=body.get("message", ""),
        )
        self.dashboards[uid] = entry
        slug = _slug(title)
        return 200, {
            "id": entry["id"],
            "uid": uid,
            "url": f"/d/{uid}/{slug}",
            "status": "success",
            "version": version,
            "title": slug,
            "folderUid": folder_uid,
        }

    # -- search ----------------------------------------------------------------------------------------------

    def _get_search(self, request: Request, _: None) -> tuple[int, Any]:
        q = request.query
        kind = (q.get("type") or ["dash-db"])[0]
        if kind not in ("dash-db", "dash-folder"):
            return 422, {"message": "type must be dash-db or dash-folder"}
        folder_uids = {u for value in q.get("folderUIDs", []) for u in value.split(",") if u}
        tags = set(q.get("tag", []))
        text = (q.get("query") or [""])[0].lower()
        limit = int((q.get("limit") or ["1000"])[0])
        hits = []
        if kind == "dash-db":
            for uid, entry in sorted(self.dashboards.items()):
                dash = entry["dashboard"]
                if folder_uids and entry["folderUid"] not in folder_uids:
                    continue
                if not tags <= set(dash.get("tags", [])) or text not in dash.get("title", "").lower():
                    continue
                meta = self._meta(entry)
                hit = {
                    "id": entry["id"],
                    "uid": uid,
                    "title": dash.get("title", ""),
                    "uri": f"db/{meta['slug']}",
                    "url": meta["url"],
                    "slug": "",
                    "type": "dash-db",
                    "tags": list(dash.get("tags", [])),
                    "isStarred": False,
                    "sortMeta": 0,
                }
                if "folderUid" in meta:
                    folder = self.folders[entry["folderUid"]]
                    hit.update(
                        folderUid=meta["folderUid"], folderTitle=meta["folderTitle"], folderId=folder["id"]
                    )
                    hit["folderUrl"] = meta["folderUrl"]
                hits.append(hit)
        return 200, hits[:limit]
