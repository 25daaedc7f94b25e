"""The dashboards-as-code model: target-neutral dashboards, panels and variables, plus per-target extras.

A project's ``dashboards/*.py`` modules build these objects; the SQL of each panel lives in a Jinja2 file
under ``queries/``. Everything here is plain, frozen data: no I/O, no heavy imports, so ``smarter-obs list``
and the loader stay fast. What only one target understands (Grafana units and legends, Metabase display
and visualization settings) goes into the ``extra`` field of a dashboard, panel or variable as an object of
that target's own type (``smarter_obs.dashboards.compile.grafana.GrafanaPanel``, …); the neutral core never
looks inside it.

    Dashboard(slug, title, target, datasource, panels=[Panel(id, title, sql, kind, …)], variables=[…])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from smarter_obs.dashboards.errors import DefinitionError

__all__ = [
    "ALL",
    "KINDS",
    "TARGETS",
    "VARIABLE_KINDS",
    "Choice",
    "Dashboard",
    "Layout",
    "Panel",
    "Target",
    "Variable",
]

Target = Literal["grafana", "metabase"]
#: The publishing targets a dashboard can have.
TARGETS: tuple[str, ...] = ("grafana", "metabase")

#: Panel kinds and the result shape each needs (checked by the tests and ``doctor``):
#: ``timeseries`` a time column plus numeric series; ``stat``/``gauge`` one row of numbers; ``barchart``,
#: ``piechart``, ``bargauge`` a category and numeric values; ``table`` the declared columns.
KINDS: tuple[str, ...] = ("timeseries", "stat", "gauge", "barchart", "piechart", "bargauge", "table")

#: The value a variable has when "All" is selected (Grafana's own spelling).
ALL = "$__all"

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: The variable kinds Grafana has (other targets may add their own).
VARIABLE_KINDS: tuple[str, ...] = ("query", "custom", "constant", "textbox", "interval")


def _tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)):
        return (value,)
    return tuple(value)


def _freeze(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Position on a 24-column grid (Grafana ``gridPos``; Metabase ``col``/``row``/``size_x``/``size_y``)."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if not (
            0 <= self.x < 24 and 1 <= self.w <= 24 and self.x + self.w <= 24 and self.y >= 0 and self.h >= 1
        ):
            raise DefinitionError(
                f"layout x={self.x} y={self.y} w={self.w} h={self.h} does not fit the 24-column grid "
                "(0 <= x, 1 <= w, x + w <= 24, y >= 0, h >= 1)"
            )


@dataclass(frozen=True)
class Choice:
    """One value of a custom variable: what the user sees (``text``) and what the SQL gets (``value``)."""

    value: str
    text: str | None = None

    @property
    def label(self) -> str:
        return self.text if self.text is not None else self.value


@dataclass(frozen=True, kw_only=True)
class Variable:
    """A dashboard variable (Grafana template variable; Metabase parameter via ``extra``).

    ``kind``: ``query`` (values from the SQL file ``sql``, run on the dashboard's datasource), ``custom``
    (fixed ``choices``), ``constant``, ``textbox``, ``interval`` (Grafana's kinds, :data:`VARIABLE_KINDS`);
    another target may define its own kinds (e.g. a Metabase date-range parameter), which the Grafana
    compiler rejects. ``default`` is the value selected when the
    dashboard opens: a string, a tuple for multi-value variables, or ``None`` for "All" when ``include_all``
    (else the first value). ``samples`` are the values ``validate`` substitutes for a query/textbox
    variable (first = single value, first two = multi value) so every branch of the SQL is checked.
    """

    name: str
    label: str | None = None
    kind: str = "query"
    sql: str | None = None
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    default: str | tuple[str, ...] | None = None
    samples: tuple[str, ...] = ("sample_a", "sample_b")
    description: str = ""
    datasource: str | None = None
    extra: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name) or self.name.startswith("__"):
            raise DefinitionError(
                f"variable name {self.name!r} must be an identifier (letters, digits, '_') "
                "not starting with '__'"
            )
        if not isinstance(self.kind, str) or not self.kind:
            raise DefinitionError(f"variable {self.name!r}: kind must be a name such as {VARIABLE_KINDS}")
        choices = tuple(c if isinstance(c, Choice) else Choice(str(c)) for c in _tuple(self.choices))
        _freeze(self, "choices", choices)
        _freeze(self, "samples", tuple(str(s) for s in _tuple(self.samples)) or ("sample_a", "sample_b"))
        if isinstance(self.default, (list, tuple)):
            _freeze(self, "default", tuple(str(v) for v in self.default))
        if self.kind == "query" and not self.sql:
            raise DefinitionError(
                f"variable {self.name!r}: a query variable needs sql='<file under queries/>'"
            )
        if self.kind == "custom" and not choices:
            raise DefinitionError(f"variable {self.name!r}: a custom variable needs choices=[...]")
        if self.kind == "constant" and self.default is None:
            raise DefinitionError(f"variable {self.name!r}: a constant needs default='<value>'")

    @property
    def title(self) -> str:
        return self.label or self.name

    def default_selection(self) -> tuple[str, ...] | None:
        """The values selected when the dashboard opens: a tuple, ``(ALL,)``, or ``None`` (first option)."""
        if self.default is not None:
            return self.default if isinstance(self.default, tuple) else (str(self.default),)
        if self.include_all:
            return (ALL,)
        if self.choices:
            return (self.choices[0].value,)
        if self.kind == "textbox":
            return ("",)
        return None


@dataclass(frozen=True, kw_only=True)
class Panel:
    """One panel (Grafana) or card (Metabase).

    ``id`` is stable and unique within the dashboard (Grafana panel id, the ``PANEL`` of ``smarter-obs
    query``). ``sql`` is the Jinja2 file under ``queries/`` (relative to the dashboard's ``queries`` folder
    when that is set); ``params`` are passed to the template so one file can serve several panels.
    ``columns`` declares the result columns a table needs (and, for other kinds, the ones the panel reads).
    ``min_interval`` (e.g. ``"1m"``) is the smallest time bucket the panel may use; ``max_data_points`` caps
    the number of buckets (else Grafana derives it from the panel width).
    """

    id: int
    title: str
    sql: str | None
    kind: str = "table"
    description: str = ""
    layout: Layout | None = None
    datasource: str | None = None
    columns: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    min_interval: str | None = None
    max_data_points: int | None = None
    extra: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, int) or isinstance(self.id, bool) or self.id < 1:
            raise DefinitionError(f"panel {self.title!r}: id must be a positive integer, got {self.id!r}")
        if not self.title or not isinstance(self.title, str):
            raise DefinitionError(f"panel {self.id}: title must be a non-empty string")
        if self.kind not in KINDS:
            raise DefinitionError(f"panel {self.id} {self.title!r}: kind {self.kind!r} is not one of {KINDS}")
        _freeze(self, "columns", tuple(_tuple(self.columns)))
        _freeze(self, "params", dict(self.params))
        if self.max_data_points is not None and self.max_data_points < 1:
            raise DefinitionError(f"panel {self.id} {self.title!r}: max_data_points must be at least 1")


@dataclass(frozen=True, kw_only=True)
class Dashboard:
    """A dashboard: slug (the CLI and file name), title, target, datasource name, variables and panels.

    ``uid`` is the stable id on the server (≤ 40 characters; default ``smarter-obs-<slug>``). ``queries`` is
    the folder under ``queries/`` the panels' ``sql`` paths are relative to. ``source`` is set by the loader
    to the definition file.
    """

    slug: str
    title: str
    target: Target
    datasource: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()
    uid: str | None = None
    queries: str = ""
    time_from: str = "now-24h"
    time_to: str = "now"
    refresh: str | None = None
    extra: Any = None
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.slug, str) or not _SLUG_RE.match(self.slug):
            raise DefinitionError(
                f"dashboard slug {self.slug!r} must be lowercase letters, digits, '-' or '_' (at most 63)"
            )
        if self.target not in TARGETS:
            raise DefinitionError(f"dashboard {self.slug!r}: target {self.target!r} is not one of {TARGETS}")
        panels = tuple(_tuple(self.panels))
        variables = tuple(_tuple(self.variables))
        _freeze(self, "panels", panels)
        _freeze(self, "variables", variables)
        _freeze(self, "tags", tuple(_tuple(self.tags)))
        if not panels:
            raise DefinitionError(f"dashboard {self.slug!r} has no panels")
        seen: dict[int, str] = {}
        for panel in panels:
            if not isinstance(panel, Panel):
                raise DefinitionError(f"dashboard {self.slug!r}: panels must be Panel objects, got {panel!r}")
            if panel.id in seen:
                raise DefinitionError(
                    f"dashboard {self.slug!r}: panel id {panel.id} is used by {seen[panel.id]!r} "
                    f"and {panel.title!r}"
                )
            seen[panel.id] = panel.title
        names = [v.name for v in variables]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DefinitionError(f"dashboard {self.slug!r}: variable {duplicates[0]!r} is defined twice")
        uid = self.uid if self.uid is not None else f"smarter-obs-{self.slug}"
        if not re.match(r"^[A-Za-z0-9_-]{1,40}$", uid):
            raise DefinitionError(
                f"dashboard {self.slug!r}: uid {uid!r} must be 1-40 letters, digits, '-' or '_' "
                "(Grafana's limit)"
            )
        _freeze(self, "uid", uid)

    # -- lookups ---------------------------------------------------------------------------------------

    def panel(self, ref: int | str) -> Panel:
        """The panel with this id (an int or its digits) or exact title; UnknownObjectError otherwise."""
        from smarter_obs.dashboards.errors import UnknownObjectError, did_you_mean

        text = str(ref).strip()
        for panel in self.panels:
            if (text.isdigit() and panel.id == int(text)) or panel.title == text:
                return panel
        known = [f"{p.id}" for p in self.panels]
        raise UnknownObjectError(
            f"dashboard {self.slug!r} has no panel {text!r}"
            + (did_you_mean(text, [p.title for p in self.panels]) if not text.isdigit() else "")
            + f"; panel ids: {', '.join(known)} (see `smarter-obs list`)"
        )

    def variable(self, name: str) -> Variable:
        from smarter_obs.dashboards.errors import UnknownObjectError, did_you_mean

        for variable in self.variables:
            if variable.name == name:
                return variable
        raise UnknownObjectError(
            f"dashboard {self.slug!r} has no variable {name!r}"
            + did_you_mean(name, [v.name for v in self.variables])
        )

    def panel_datasource(self, panel: Panel | Variable | None) -> str:
        """The datasource name a panel (or variable) reads: its own, else the dashboard's."""
        return (panel.datasource if panel is not None else None) or self.datasource

    def with_source(self, path: Path) -> Dashboard:
        return replace(self, source=path)

    def summary(self) -> dict[str, Any]:
        """``{"slug", "title", "target", "panels": [{"id", "title"}]}`` (the ``list --format json`` shape)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "target": self.target,
            "panels": [{"id": p.id, "title": p.title} for p in self.panels],
        }
