"""Fill the preview model from the project's dashboards: every panel's query run through the dashboards
library (``smarter_obs.dashboards.run_query``), exactly as ``smarter-obs query`` runs it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from smarter_obs.errors import ConfigError, SmarterObsError
from smarter_obs.preview.model import DashboardView, Layout, PanelView

__all__ = ["collect_views", "parse_datasources", "view_kind"]

_KINDS = {
    "timeseries": "timeseries",
    "stat": "stat",
    "gauge": "stat",
    "barchart": "bar",
    "bargauge": "bar",
    "piechart": "pie",
    "table": "table",
}
#: pixels per grid row: Grafana's gridPos rows are 30 px; Metabase's dashcard rows are taller
ROW_HEIGHT = {"grafana": 30, "metabase": 44}


def parse_datasources(items: Sequence[str]) -> dict[str, str]:
    """``["clickhouse=chdb:///…", …]`` → ``{"clickhouse": "chdb:///…"}``; ConfigError naming a bad item."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise ConfigError(
                f"--datasource {item!r}: use NAME=URL, e.g. clickhouse=chdb:///var/lib/smarter-obs/clickhouse",
                setting="--datasource",
            )
        out[name.strip()] = url.strip()
    return out


def view_kind(kind: str) -> str:
    """The page's way of drawing a dashboards-model panel kind."""
    return _KINDS.get(kind, "table")


def _unit(panel: Any) -> str:
    extra = getattr(panel, "extra", None)
    return str(getattr(extra, "unit", None) or "")


#: Metabase column_settings number styles → the page's units
_METABASE_STYLES = {"percent": "percentunit", "currency": "currency", "scientific": "short"}
_COLUMN_KEY = re.compile(r'^\["name",\s*"(?P<name>[^"]+)"\]$')


def _fields(panel: Any) -> list[str]:
    """The columns the panel shows: Grafana's field selection, Metabase's ``scalar.field`` /
    ``graph.metrics``, else (a stat) its declared columns."""
    extra = getattr(panel, "extra", None)
    chosen = list(getattr(extra, "fields", None) or ())
    settings = getattr(extra, "visualization_settings", None) or {}
    if not chosen and settings.get("scalar.field"):
        chosen = [settings["scalar.field"]]
    if not chosen and settings.get("graph.metrics"):
        chosen = list(settings["graph.metrics"])
    if not chosen and panel.kind in ("stat", "gauge"):
        chosen = list(panel.columns)
    return [str(c) for c in chosen]


def _style(panel: Any) -> dict[str, Any]:
    """How a time series is drawn (Grafana draw style and stacking, Metabase display) and stat thresholds."""
    extra = getattr(panel, "extra", None)
    draw = {"bars": "bars", "bar": "bars", "area": "area"}.get(
        str(getattr(extra, "draw_style", None) or getattr(extra, "display", None) or ""), "line"
    )
    thresholds = [(v, str(c)) for v, c in getattr(extra, "thresholds", None) or ()]
    return {"draw": draw, "stack": bool(getattr(extra, "stacking", False)), "thresholds": thresholds}


def _units(panel: Any) -> dict[str, str]:
    """Per-column units: Grafana field overrides, Metabase ``column_settings`` number styles."""
    extra = getattr(panel, "extra", None)
    units = {
        str(o.field): str(o.unit) for o in getattr(extra, "overrides", None) or () if getattr(o, "unit", None)
    }
    settings = getattr(extra, "visualization_settings", None) or {}
    for key, column in (settings.get("column_settings") or {}).items():
        match = _COLUMN_KEY.match(str(key))
        style = _METABASE_STYLES.get(str((column or {}).get("number_style")))
        if match and style:
            units[match["name"]] = style
    return units


def _layouts(panels: Sequence[Any]) -> list[Layout]:
    """Each panel's grid position; panels without one flow after the others, two per row."""
    placed = [p.layout for p in panels if getattr(p, "layout", None) is not None]
    y = max((lay.y + lay.h for lay in placed), default=0)
    out, slot = [], 0
    for panel in panels:
        lay = getattr(panel, "layout", None)
        if lay is not None:
            out.append(Layout(lay.x, lay.y, lay.w, lay.h))
        else:
            out.append(Layout((slot % 2) * 12, y + (slot // 2) * 8, 12, 8))
            slot += 1
    return out


def collect_views(
    project: Path | str | None,
    *,
    datasources: dict[str, str],
    time_from: str | None = None,
    time_to: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[DashboardView]:
    """Every dashboard of ``project`` with each panel's result (or its error) for the range."""
    try:
        from smarter_obs import dashboards as lib
        from smarter_obs.dashboards.timerange import TimeRange
    except ImportError as exc:  # pragma: no cover - the machinery ships with the package
        raise ConfigError(f"the dashboards machinery is not available ({exc})") from None
    loaded = lib.load_project(project)
    views = []
    try:
        # Grafana's dashboards first (the telemetry), then Metabase's (the business), each in project order
        for dashboard in sorted(loaded.dashboards, key=lambda d: d.target != "grafana"):
            time_range = TimeRange.parse(time_from or dashboard.time_from, time_to or dashboard.time_to)
            panels = []
            for panel, layout in zip(dashboard.panels, _layouts(dashboard.panels), strict=True):
                panels.append(_panel_view(lib, loaded, dashboard, panel, layout, time_range, datasources))
            failed = sum(p.error is not None for p in panels)
            if progress:
                progress(
                    f"{dashboard.slug}: {len(panels)} panels, {sum(bool(p.rows) for p in panels)} with data"
                    + (f", {failed} failed" if failed else "")
                )
            views.append(
                DashboardView(
                    slug=dashboard.slug,
                    title=dashboard.title,
                    target=dashboard.target,
                    panels=panels,
                    description=dashboard.description,
                    time_from=_text(time_range, "start", time_from or dashboard.time_from),
                    time_to=_text(time_range, "end", time_to or dashboard.time_to),
                    row_height=ROW_HEIGHT.get(dashboard.target, 30),
                )
            )
    finally:
        from smarter_obs.dashboards import datasources as ds

        ds.close_connections()
    return views


def _text(time_range: Any, attr: str, fallback: str) -> str:
    value = getattr(time_range, attr, None)
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else str(fallback)


def _panel_view(lib, project, dashboard, panel, layout, time_range, datasources) -> PanelView:
    view = PanelView(
        id=str(panel.id),
        title=panel.title,
        kind=view_kind(panel.kind),
        layout=layout,
        description=panel.description,
        unit=_unit(panel),
        fields=_fields(panel),
        units=_units(panel),
        **_style(panel),
    )
    try:
        result = lib.run_query(project, dashboard, panel, time_range=time_range, datasources=datasources)
    except SmarterObsError as exc:
        view.error = str(exc)
        try:
            view.sql = lib.panel_sql(
                project, dashboard, panel, time_range=time_range, datasources=datasources
            ).sql
        except SmarterObsError:
            view.sql = ""
        return view
    view.sql, view.datasource = result.sql, str(result.datasource or "")
    view.columns, view.rows = list(result.columns), [list(r) for r in result.rows]
    return view
