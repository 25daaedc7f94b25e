"""Grafana: the per-target extras of the model, and (below) the compiler from the model to dashboard JSON.

Definitions put Grafana-only settings in ``Panel(extra=GrafanaPanel(...))``: unit, decimals, legend,
thresholds, per-field overrides and links, draw style. ``customize`` receives the
grafana-foundation-sdk panel builder for anything else the SDK offers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FieldLink", "GrafanaDashboard", "GrafanaPanel", "Override"]


@dataclass(frozen=True)
class FieldLink:
    """A data link on a field. ``url`` may use Grafana's ``${__value.raw}``, ``${__data.fields.x}`` etc."""

    title: str
    url: str = ""
    target_blank: bool = False
    trace: bool = False  # a link to the trace view of the dashboard's ClickHouse datasource

    @classmethod
    def trace_view(cls, title: str = "Open trace") -> FieldLink:
        """Open the trace (the field holds a TraceId) in Grafana's trace view of the ClickHouse plugin."""
        return cls(title=title, trace=True)


@dataclass(frozen=True)
class Override:
    """Settings for one field (column) of a panel, matched by name."""

    field: str
    unit: str | None = None
    decimals: int | None = None
    display_name: str | None = None
    link: FieldLink | None = None
    color: str | None = None
    width: int | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class GrafanaPanel:
    """Grafana-only settings of a panel.

    ``legend``: ``list`` | ``table`` | ``hidden``; ``thresholds``: ``((None, "green"), (80, "red"))``
    (the first step's value is ``None``); ``fields`` restricts a stat/gauge to those columns.
    """

    unit: str | None = None
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    legend: str = "list"
    legend_placement: str = "bottom"
    legend_calcs: tuple[str, ...] = ()
    draw_style: str = "line"
    stacking: bool = False
    fill_opacity: int | None = None
    color: str | None = None
    thresholds: tuple[tuple[float | None, str], ...] = ()
    fields: tuple[str, ...] = ()
    overrides: tuple[Override, ...] = ()
    transparent: bool = False
    customize: Callable[[Any], Any] | None = None


@dataclass(frozen=True, kw_only=True)
class GrafanaDashboard:
    """Grafana-only settings of a dashboard."""

    folder: str | None = None
    timezone: str = "browser"
    graph_tooltip: str = "shared_crosshair"
    editable: bool = True
    links: tuple[Mapping[str, Any], ...] = ()
