"""What the preview page draws: dashboards → panels, each with its query's real result.

Deliberately plain (no dependency on the dashboards machinery): :mod:`smarter_obs.preview.collect` fills it
from the project's dashboards and their query runner, the renderer only reads it.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "DashboardView", "Layout", "PanelView", "json_value"]

#: Panel kinds the page can draw.
KINDS = ("timeseries", "bar", "pie", "stat", "table")


@dataclass(frozen=True)
class Layout:
    """Position on the dashboard's grid: Grafana ``gridPos`` (24 columns) or Metabase's dashcard grid."""

    x: int
    y: int
    w: int
    h: int


@dataclass
class PanelView:
    id: str
    title: str
    kind: str  # one of KINDS
    layout: Layout
    sql: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    description: str = ""
    unit: str = ""  # ms, s, percent, percentunit, short, bytes, currency…
    error: str | None = None  # the query failed: shown in an error box
    datasource: str = ""
    #: the result columns the panel shows (Grafana's field selection); empty: every numeric column
    fields: list[str] = field(default_factory=list)
    #: unit per column where it differs from ``unit`` (Grafana field overrides)
    units: dict[str, str] = field(default_factory=dict)
    #: time series drawn as ``line``, ``bars`` or ``area``; ``stack`` stacks the series
    draw: str = "line"
    stack: bool = False
    #: ``[(from value or None, color)]`` ascending, as Grafana's thresholds: a stat takes the last one reached
    thresholds: list[tuple[float | None, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"panel {self.id!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "layout": {"x": self.layout.x, "y": self.layout.y, "w": self.layout.w, "h": self.layout.h},
            "sql": self.sql,
            "columns": list(self.columns),
            "rows": [[json_value(v) for v in row] for row in self.rows],
            "description": self.description,
            "unit": self.unit,
            "error": self.error,
            "datasource": self.datasource,
            "fields": list(self.fields),
            "units": dict(self.units),
            "draw": self.draw,
            "stack": self.stack,
            "thresholds": [[value, color] for value, color in self.thresholds],
        }


@dataclass
class DashboardView:
    slug: str
    title: str
    target: str  # "grafana" | "metabase"
    panels: list[PanelView]
    description: str = ""
    time_from: str = ""
    time_to: str = ""
    #: height in pixels of one grid row (Grafana: 30 px; Metabase's rows are taller)
    row_height: int = 30

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "target": self.target,
            "description": self.description,
            "time_from": self.time_from,
            "time_to": self.time_to,
            "row_height": self.row_height,
            "panels": [p.to_json() for p in self.panels],
        }


def json_value(value: Any) -> Any:
    """A query value as JSON: times as ISO-8601 UTC, decimals as numbers, non-finite floats as null."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)
