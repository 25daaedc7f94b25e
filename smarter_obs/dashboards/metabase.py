"""Metabase: the per-target extras of the model, and helpers to declare a Metabase dashboard.

A Metabase dashboard is a :class:`~smarter_obs.dashboards.Dashboard` with ``target="metabase"``:

- each **card** is a ``Panel``: title, SQL file (Jinja2 under ``queries/``, Metabase template tags and
  ``[[ … ]]`` optional clauses in it), ``description`` stating the card's definition (required), ``layout``
  on the 24-column grid, and ``extra=MetabaseCard(display=…, visualization_settings=…)``;
- each **filter** is a ``Variable`` with ``extra=MetabaseParameter(...)``: a dashboard parameter mapped to
  the template tag of the same name in every card that uses it (the card's template tags are derived from
  its SQL). ``date_range()`` gives the two ``date`` tags of the date-range filter (``--from``/``--to`` of
  ``smarter-obs query`` fill them); ``text_filter()`` a text tag. No value means all: the SQL puts each tag
  in an optional clause;
- ``extra=MetabaseDashboard(collection=…)`` places the dashboard.

Plain frozen data, no heavy import: ``smarter-obs list`` loads definitions without jinja2 or sqlglot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from smarter_obs.dashboards.errors import DefinitionError
from smarter_obs.dashboards.model import Variable

__all__ = [
    "DISPLAYS",
    "MetabaseCard",
    "MetabaseDashboard",
    "MetabaseParameter",
    "date_range",
    "text_filter",
]

#: Metabase card displays (``POST /api/card`` ``display``).
DISPLAYS = (
    "table", "bar", "line", "pie", "scalar", "row", "area", "combo", "pivot", "smartscalar", "gauge",
    "progress", "funnel", "object", "map", "scatter", "boxplot", "waterfall", "sankey", "list",
)  # fmt: skip
#: The display a panel kind gets when its MetabaseCard names none.
DISPLAY_OF_KIND = {
    "timeseries": "line",
    "barchart": "bar",
    "piechart": "pie",
    "stat": "scalar",
    "gauge": "gauge",
    "bargauge": "row",
    "table": "table",
}
#: Dashboard parameter types per tag type (the Metabase widget), and their ``sectionId``.
PARAMETER_TYPES = {
    "text": ("string/=", "string"),
    "number": ("number/=", "number"),
    "date": ("date/single", "date"),
}
_ALLOWED_WIDGETS = {
    "text": ("string/=", "category", "string/contains", "string/starts-with", "id"),
    "number": ("number/=", "number/>=", "number/<=", "category", "id"),
    "date": ("date/single",),
}


@dataclass(frozen=True, kw_only=True)
class MetabaseParameter:
    """Metabase-only settings of a dashboard variable: the template tag it fills, and its widget.

    ``tag_type``: the tag's type (``text`` | ``number`` | ``date``). ``widget``: the dashboard parameter's
    type (default ``string/=``, ``number/=``, ``date/single``). ``range``: ``"start"``/``"end"`` for the
    two tags of the date-range filter (UTC days, the end included).
    """

    tag_type: Literal["text", "number", "date"] = "text"
    widget: str | None = None
    range: Literal["start", "end"] | None = None

    def __post_init__(self) -> None:
        if self.tag_type not in PARAMETER_TYPES:
            raise DefinitionError(
                f"MetabaseParameter tag_type {self.tag_type!r} is not one of {tuple(PARAMETER_TYPES)}"
            )
        if self.widget is not None and self.widget not in _ALLOWED_WIDGETS[self.tag_type]:
            raise DefinitionError(
                f"MetabaseParameter widget {self.widget!r} cannot fill a {self.tag_type} tag "
                f"(one of {_ALLOWED_WIDGETS[self.tag_type]})"
            )
        if self.range is not None and self.tag_type != "date":
            raise DefinitionError("MetabaseParameter range='start'/'end' needs tag_type='date'")

    @property
    def parameter_type(self) -> str:
        return self.widget or PARAMETER_TYPES[self.tag_type][0]

    @property
    def section_id(self) -> str:
        return PARAMETER_TYPES[self.tag_type][1]


@dataclass(frozen=True, kw_only=True)
class MetabaseCard:
    """Metabase-only settings of a card: ``display`` (default from the panel kind) and
    ``visualization_settings`` (Metabase's own keys: ``graph.dimensions``, ``graph.metrics``,
    ``scalar.field``, ``column_settings`` …, sent as written)."""

    display: str | None = None
    visualization_settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.display is not None and self.display not in DISPLAYS:
            raise DefinitionError(f"MetabaseCard display {self.display!r} is not one of {DISPLAYS}")
        object.__setattr__(self, "visualization_settings", dict(self.visualization_settings))


@dataclass(frozen=True, kw_only=True)
class MetabaseDashboard:
    """Metabase-only settings of a dashboard: the collection it lives in, and its width."""

    collection: str = "SmarterOS"
    width: Literal["fixed", "full"] = "full"


def date_range(
    start: str = "start_date",
    end: str = "end_date",
    *,
    start_label: str = "From",
    end_label: str = "To",
    samples: tuple[str, str] = ("2025-01-01", "2025-01-31"),
) -> tuple[Variable, Variable]:
    """The two ``date`` tags of a date-range filter: UTC days, ``end`` included; no value = unbounded."""
    return (
        Variable(
            name=start, label=start_label, kind="metabase", include_all=True, samples=(samples[0],),
            description="First UTC day of the range (no value: from the beginning).",
            extra=MetabaseParameter(tag_type="date", range="start"),
        ),
        Variable(
            name=end, label=end_label, kind="metabase", include_all=True, samples=(samples[1],),
            description="Last UTC day of the range, included (no value: up to today).",
            extra=MetabaseParameter(tag_type="date", range="end"),
        ),
    )  # fmt: skip


def text_filter(
    name: str,
    label: str,
    *,
    samples: tuple[str, ...] = ("sample",),
    description: str = "",
    widget: str | None = None,
) -> Variable:
    """A text tag filled by a dashboard filter; no value = all."""
    return Variable(
        name=name,
        label=label,
        kind="metabase",
        include_all=True,
        samples=samples,
        description=description,
        extra=MetabaseParameter(tag_type="text", widget=widget),
    )
