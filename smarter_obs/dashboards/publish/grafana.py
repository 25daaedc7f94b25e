"""Publishing to Grafana: the managed folder, the managed datasources, the dashboards (by uid).

Plan: read the folder, each managed datasource, each dashboard by uid, and (for ``delete``) the folder's
dashboards carrying our marker tag; compare normal forms. A dashboard whose content no longer matches the
marker we wrote (``smarter-obs:<hash>``, see ``normal.marker_tag``), that lacks the marker, or that was
moved to another folder, was changed on the server: the change is an ``update`` with ``drift`` set, and
``publish`` refuses it without ``force``. Saves send the version we read (``overwrite`` only with
``force``), so an edit between plan and publish is caught by Grafana's 412 as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from smarter_obs.dashboards.plan import Change, Plan, diff
from smarter_obs.dashboards.publish import normal
from smarter_obs.dashboards.publish.config import PublishConfig
from smarter_obs.dashboards.publish.datasources import ManagedDatasource, managed_datasources
from smarter_obs.dashboards.publish.errors import DriftError
from smarter_obs.dashboards.publish.grafana_api import GrafanaAPI, VersionMismatch

log = logging.getLogger("smarter_obs.publish")
TARGET = "grafana"
_BUILTIN_DATASOURCES = {"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --"}


def referenced_datasources(dashboard: dict[str, Any]) -> set[tuple[str, str]]:
    """(type, uid) of every datasource a dashboard JSON references (panels, targets, variables)."""
    found: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("datasource")
            if isinstance(ref, dict) and isinstance(ref.get("uid"), str):
                uid = ref["uid"]
                if not uid.startswith("$") and uid not in _BUILTIN_DATASOURCES:
                    found.add((str(ref.get("type", "")), uid))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard)
    return found


class GrafanaTarget:
    """Plans and applies the Grafana side. ``dashboards`` are compiled dashboard JSON models (with uid)."""

    name = TARGET

    def __init__(
        self,
        config: PublishConfig,
        *,
        api: GrafanaAPI | None = None,
        progress: Callable[[str], None] | None = None,
    ):
        self.config = config
        self.api = api or GrafanaAPI(config)
        self.progress = progress or (lambda text: log.info("%s", text))

    # -- plan ----------------------------------------------------------------------------------------------

    def plan(self, dashboards: Iterable[dict[str, Any]], *, complete: bool = True) -> Plan:
        """``complete``: the dashboards are all that is defined (so others in the folder are ``delete``)."""
        dashboards = list(dashboards)
        plan = Plan(TARGET, self.api.url)
        folder = self._plan_folder(plan)
        managed, notes = managed_datasources(self.config)
        plan.warnings += notes
        for ds in managed:
            self._plan_datasource(plan, ds)
        self._check_references(plan, dashboards, {ds.uid for ds in managed})
        for dashboard in dashboards:
            self._plan_dashboard(plan, dashboard)
        if complete and folder is not None:
            wanted = {d["uid"] for d in dashboards}
            for hit in self.api.dashboards_in_folder(self.config.folder_uid):
                if hit["uid"] not in wanted and any(
                    str(t).startswith(normal.MARKER_PREFIX) for t in hit.get("tags", [])
                ):
                    plan.add(
                        Change(TARGET, "dashboard", hit["uid"], hit.get("title", ""), "delete", remote=hit)
                    )
        return plan

    def _plan_folder(self, plan: Plan) -> dict[str, Any] | None:
        uid, title = self.config.folder_uid, self.config.folder_title
        folder = self.api.folder(uid)
        if folder is None:
            plan.add(
                Change(TARGET, "folder", uid, title, "create", diff=[f"+ title: {title!r}"], desired=title)
            )
            return None
        note = (
            None if folder.get("title") == title else f"titled {folder.get('title')!r} on the server (kept)"
        )
        plan.add(
            Change(TARGET, "folder", uid, folder.get("title", title), "unchanged", note=note, remote=folder)
        )
        return folder

    def _plan_datasource(self, plan: Plan, ds: ManagedDatasource) -> None:
        remote = self.api.datasource(ds.uid)
        desired = ds.normal()
        if remote is None:
            plan.add(
                Change(TARGET, "datasource", ds.uid, ds.name, "create", diff=diff({}, desired), desired=ds)
            )
            return
        current = normal.grafana_datasource(remote)
        if current == desired:
            plan.add(Change(TARGET, "datasource", ds.uid, ds.name, "unchanged", desired=ds, remote=remote))
        else:
            plan.add(
                Change(
                    TARGET,
                    "datasource",
                    ds.uid,
                    ds.name,
                    "update",
                    diff=diff(current, desired),
                    desired=ds,
                    remote=remote,
                )
            )

    def _check_references(self, plan: Plan, dashboards: list[dict[str, Any]], managed: set[str]) -> None:
        users: dict[tuple[str, str], list[str]] = {}
        for dashboard in dashboards:
            for ref in referenced_datasources(dashboard):
                users.setdefault(ref, []).append(dashboard.get("uid", "?"))
        for (type_, uid), uids in sorted(users.items()):
            if uid not in managed and self.api.datasource(uid) is None:
                plan.warnings.append(
                    f"datasource {uid!r} ({type_ or 'unknown type'}) used by {', '.join(sorted(set(uids)))} "
                    "does not exist on the server: provision it there, or set its connection variable "
                    "(SMARTER_OBS_CLICKHOUSE_URL / SUPABASE_DB_URL) so publish manages it"
                )

    def _plan_dashboard(self, plan: Plan, dashboard: dict[str, Any]) -> None:
        uid, title = dashboard["uid"], dashboard.get("title", "")
        desired = normal.grafana_dashboard(dashboard)
        remote = self.api.dashboard(uid)  # by uid, wherever it is: a moved dashboard is drift, not a new one
        if remote is None:
            plan.add(Change(TARGET, "dashboard", uid, title, "create", desired=desired))
            return
        model, meta = remote["dashboard"], remote.get("meta", {})
        current = normal.grafana_dashboard(model)
        folder = meta.get("folderUid", "")
        drift = self._drift(model, current, meta)
        if current == desired and folder == self.config.folder_uid:
            plan.add(Change(TARGET, "dashboard", uid, title, "unchanged", desired=desired, remote=remote))
            return
        lines = diff(current, desired)
        if folder != self.config.folder_uid:
            lines.insert(0, f"~ folder: {folder or '(root)'!r} → {self.config.folder_uid!r}")
        plan.add(
            Change(
                TARGET,
                "dashboard",
                uid,
                title,
                "update",
                diff=lines,
                drift=drift,
                desired=desired,
                remote=remote,
            )
        )

    def _drift(self, model: dict[str, Any], current: dict[str, Any], meta: dict[str, Any]) -> str | None:
        marker = normal.marker_of(model)
        who = f"version {model.get('version', meta.get('version', '?'))}"
        if meta.get("updatedBy"):
            who += f", saved by {meta['updatedBy']} at {meta.get('updated', '?')}"
        if marker is None:
            return f"it carries no smarter-obs marker tag ({who}): not published by smarter-obs, or edited so"
        if marker != normal.marker_tag(current):
            return f"edited after smarter-obs published it ({who})"
        if meta.get("folderUid", "") != self.config.folder_uid:
            return f"moved to folder {meta.get('folderUid') or '(root)'!r} on the server ({who})"
        return None

    # -- apply ---------------------------------------------------------------------------------------------

    def apply(
        self, plan: Plan, *, force: bool = False, prune: bool = False, message: str = "", done: list[str]
    ) -> None:
        """Send the pending changes; every write is appended to ``done`` as it succeeds."""
        drifted = [c for c in plan.changes if c.drift]
        if drifted and not force:
            names = [f"{c.kind} {c.key}" for c in drifted]
            raise DriftError(
                "Grafana: "
                + "; ".join(f"{c.kind} {c.key!r} was changed on the server: {c.drift}" for c in drifted)
                + ". Nothing was written. Inspect it in Grafana, keep the change in code, "
                "or overwrite it with publish --force",
                objects=names,
                target=TARGET,
            )
        for change in plan.changes:
            if (
                change.kind == "datasource"
                and change.action == "unchanged"
                and force
                and change.desired.password
            ):
                change.action = "update"  # --force resends the password (rotation); Grafana never shows it
            if not change.pending or (change.action == "delete" and not prune):
                if change.action == "delete":
                    self.progress(
                        f"grafana: {change.kind} {change.key}: not deleted (publish --prune removes it)"
                    )
                else:
                    self.progress(f"grafana: {change.kind} {change.key}: unchanged")
                continue
            getattr(self, f"_apply_{change.kind}")(change, force=force, message=message)
            done.append(f"grafana {change.action} {change.kind} {change.key}")
            self.progress(f"grafana: {change.kind} {change.key}: {change.action}d")

    def _apply_folder(self, change: Change, **_: Any) -> None:
        self.api.create_folder(change.key, change.desired)

    def _apply_datasource(self, change: Change, *, force: bool, **_: Any) -> None:
        ds: ManagedDatasource = change.desired
        if change.action == "create":
            self.api.create_datasource(ds.body(with_secrets=True))
            return
        remote_secrets = normal.grafana_datasource(change.remote)["secrets set"]
        self.api.update_datasource(ds.uid, ds.body(with_secrets=force or "password" not in remote_secrets))

    def _apply_dashboard(self, change: Change, *, force: bool, message: str) -> None:
        if change.action == "delete":
            self.api.delete_dashboard(change.key)
            return
        model = normal.with_marker(change.desired)
        model["id"] = None
        if change.remote is not None:
            model["version"] = change.remote["dashboard"].get(
                "version", change.remote.get("meta", {}).get("version")
            )
        body = {
            "dashboard": model,
            "folderUid": self.config.folder_uid,
            "message": message,
            "overwrite": force,
        }
        try:
            self.api.save_dashboard(body)
        except VersionMismatch as exc:
            raise DriftError(
                f"Grafana: dashboard {change.key!r} changed on the server while publishing "
                f"(412 {getattr(exc, 'status_text', '')}: {exc.body}); "
                "run plan again, then publish (or publish --force to overwrite)",
                objects=[f"dashboard {change.key}"],
                target=TARGET,
                status=412,
            ) from None
