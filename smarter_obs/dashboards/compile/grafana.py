"""Grafana: the per-target extras of the model, and (below) the compiler from the model to dashboard JSON.

Definitions put Grafana-only settings in ``Panel(extra=GrafanaPanel(...))``: unit, decimals, legend,
thresholds, per-field overrides and links, draw style. ``customize`` receives the
grafana-foundation-sdk panel builder for anything else the SDK offers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smarter_obs.dashboards.model import Dashboard, Panel, Variable
    from smarter_obs.dashboards.project import Project

__all__ = [
    "SCHEMA_VERSION",
    "FieldLink",
    "GrafanaDashboard",
    "GrafanaPanel",
    "Override",
    "compile_dashboard",
    "provisioning_dashboards",
    "provisioning_datasources",
    "trace_link_url",
    "write_build",
]


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
    """Settings for one field (column) of a panel, matched by name.

    ``color`` is a fixed color (``"green"``, ``"#ff0000"``); ``value_colors`` colors a table cell by its
    text (``{"OK": "green", "ERR": "red"}``); ``properties`` are raw Grafana override properties
    (``{"custom.width": 120}``).
    """

    field: str
    unit: str | None = None
    decimals: int | None = None
    display_name: str | None = None
    link: FieldLink | None = None
    color: str | None = None
    value_colors: Mapping[str, str] = field(default_factory=dict)
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


# -- the compiler ---------------------------------------------------------------------------------------
#
# Model → grafana-foundation-sdk builders → classic (v1) dashboard JSON, schemaVersion of the SDK (42).
# Everything below imports the SDK lazily: definitions import this module for the option classes above.

#: Plugin ids of the datasources' Grafana plugins.
CLICKHOUSE_PLUGIN = "grafana-clickhouse-datasource"
POSTGRES_PLUGIN = "grafana-postgresql-datasource"
#: The classic dashboard schema version grafana-foundation-sdk 0.0.21 emits (Grafana does not migrate
#: dashboards on save, so the JSON must already be current or a UI save rewrites it: drift).
SCHEMA_VERSION = 42
_DEFAULT_LAYOUT = (12, 8)  # w, h of panels without a layout


def _sdk() -> Any:
    import warnings

    with warnings.catch_warnings():
        # 0.0.21 warns "Prefer using dashboardv2.Dashboard instead." on import and on use; the classic v1
        # JSON is what POST /api/dashboards/db and file provisioning take.
        warnings.simplefilter("ignore", DeprecationWarning)
        from grafana_foundation_sdk.builders import dashboard as dashboard_builders
        from grafana_foundation_sdk.models import dashboard as dashboard_models
    return dashboard_builders, dashboard_models


class _SqlQuery:
    """A target of the ClickHouse or PostgreSQL plugin (the SDK types neither): a Dataquery variant."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _SqlQuery:
        return cls(dict(data))


_registered = False


def _query_classes() -> tuple[type, type]:
    """The typed query classes, defined on first use (they subclass the SDK's ``Dataquery``)."""
    global _registered, ClickHouseQuery, PostgresQuery
    if _registered:
        return ClickHouseQuery, PostgresQuery
    from grafana_foundation_sdk.cog import runtime, variants

    class ClickHouseQuery(_SqlQuery, variants.Dataquery):
        """``grafana-clickhouse-datasource`` target: ``rawSql``, ``format`` (0 time series, 1 table,
        3 traces), ``editorType`` ``sql``, ``queryType``."""

        def __init__(self, *, ref_id: str = "A", raw_sql: str = "", fmt: int = 1, uid: str = "",
                     query_type: str | None = None) -> None:  # fmt: skip
            query_type = query_type or {0: "timeseries", 1: "table", 2: "logs", 3: "traces"}.get(fmt, "table")
            super().__init__(
                {
                    "datasource": {"type": CLICKHOUSE_PLUGIN, "uid": uid},
                    "editorType": "sql",
                    "format": fmt,
                    "queryType": query_type,
                    "rawSql": raw_sql,
                    "refId": ref_id,
                }
            )

        @classmethod
        def from_json(cls, data: dict[str, Any]) -> ClickHouseQuery:
            query = cls()
            query.data = dict(data)
            return query

    class PostgresQuery(_SqlQuery, variants.Dataquery):
        """``grafana-postgresql-datasource`` target: ``rawSql``, ``format`` (``time_series`` | ``table``),
        ``editorMode`` ``code``, ``rawQuery``."""

        def __init__(
            self, *, ref_id: str = "A", raw_sql: str = "", fmt: str = "table", uid: str = ""
        ) -> None:
            super().__init__(
                {
                    "datasource": {"type": POSTGRES_PLUGIN, "uid": uid},
                    "editorMode": "code",
                    "format": fmt,
                    "rawQuery": True,
                    "rawSql": raw_sql,
                    "refId": ref_id,
                }
            )

        @classmethod
        def from_json(cls, data: dict[str, Any]) -> PostgresQuery:
            query = cls()
            query.data = dict(data)
            return query

    for plugin, cls in ((CLICKHOUSE_PLUGIN, ClickHouseQuery), (POSTGRES_PLUGIN, PostgresQuery)):
        runtime.register_dataquery_variant(
            runtime.DataqueryConfig(identifier=plugin, from_json_hook=cls.from_json)
        )
    runtime.register_dataquery_variant(
        runtime.DataqueryConfig(identifier="postgres", from_json_hook=PostgresQuery.from_json)
    )
    _registered = True
    return ClickHouseQuery, PostgresQuery


ClickHouseQuery: Any = None
PostgresQuery: Any = None


class _Built:
    """Wraps a built object as a builder (the SDK's setters take builders)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def build(self) -> Any:
        return self.value


def _target(datasource: str, sql: str, kind: str) -> Any:
    from smarter_obs.dashboards.datasources import get_datasource, grafana_uid

    clickhouse, postgres = _query_classes()
    spec = get_datasource(datasource)
    uid = grafana_uid(datasource)
    if spec.grafana_type == CLICKHOUSE_PLUGIN:
        return clickhouse(raw_sql=sql, fmt=0 if kind == "timeseries" else 1, uid=uid)
    return postgres(raw_sql=sql, fmt="time_series" if kind == "timeseries" else "table", uid=uid)


def _datasource_ref(datasource: str) -> Any:
    from grafana_foundation_sdk.models.common import DataSourceRef

    from smarter_obs.dashboards.datasources import get_datasource, grafana_uid

    return DataSourceRef(type_val=get_datasource(datasource).grafana_type, uid=grafana_uid(datasource))


def trace_link_url(datasource: str) -> str:
    """An Explore URL opening the trace whose id is the clicked value, in the ClickHouse plugin's trace view
    (a ``format: 3`` query returning the columns the plugin's trace frames need)."""
    import json
    from urllib.parse import quote

    from smarter_obs.dashboards.datasources import grafana_uid

    uid = grafana_uid(datasource)
    sql = (
        "SELECT TraceId AS traceID, SpanId AS spanID, ParentSpanId AS parentSpanID, "
        "ServiceName AS serviceName, SpanName AS operationName, "
        "toUnixTimestamp64Nano(Timestamp) / 1000000 AS startTime, "
        "Duration / 1000000 AS duration, "
        "arrayMap(key -> map('key', key, 'value', SpanAttributes[key]), mapKeys(SpanAttributes)) AS tags, "
        "arrayMap(key -> map('key', key, 'value', ResourceAttributes[key]), mapKeys(ResourceAttributes)) "
        "AS serviceTags, if(StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 2, 0) AS statusCode "
        "FROM otel_traces WHERE TraceId = '${__value.raw}' ORDER BY startTime"
    )
    pane = {
        "datasource": uid,
        "queries": [
            {
                "refId": "A",
                "datasource": {"type": CLICKHOUSE_PLUGIN, "uid": uid},
                "editorType": "sql",
                "format": 3,
                "queryType": "traces",
                "rawSql": sql,
            }
        ],
        "range": {"from": "${__from}", "to": "${__to}"},
    }
    encoded = quote(json.dumps({"trace": pane}, separators=(",", ":")), safe="")
    # Grafana interpolates ${…} in link URLs before following them: keep those tokens readable.
    for token in ("${__value.raw}", "${__from}", "${__to}"):
        encoded = encoded.replace(quote(token, safe=""), token)
    return f"/explore?schemaVersion=1&orgId=1&panes={encoded}"


def _override_properties(override: Override, datasource: str) -> list[Any]:
    _, models = _sdk()
    props: list[tuple[str, Any]] = []
    if override.unit:
        props.append(("unit", override.unit))
    if override.decimals is not None:
        props.append(("decimals", override.decimals))
    if override.display_name:
        props.append(("displayName", override.display_name))
    if override.color:
        props.append(("color", {"mode": "fixed", "fixedColor": override.color}))
    if override.width is not None:
        props.append(("custom.width", override.width))
    if override.value_colors:
        mapping = {
            "type": "value",
            "options": {
                value: {"color": color, "index": index}
                for index, (value, color) in enumerate(override.value_colors.items())
            },
        }
        props.append(("mappings", [mapping]))
        props.append(("custom.cellOptions", {"type": "color-text"}))
    if override.link is not None:
        link = override.link
        url = trace_link_url(datasource) if link.trace else link.url
        props.append(("links", [{"title": link.title, "url": url, "targetBlank": link.target_blank}]))
    props.extend(override.properties.items())
    return [models.DynamicConfigValue(id_val=key, value=value) for key, value in props]


def _thresholds(steps: tuple[tuple[float | None, str], ...]) -> Any:
    builders, models = _sdk()
    steps = steps or ((None, "green"), (80, "red"))  # Grafana's own default, so a UI save adds nothing
    config = builders.ThresholdsConfig().mode(models.ThresholdsMode.ABSOLUTE)
    return config.steps([models.Threshold(value=value, color=color) for value, color in steps])


def _legend(options: GrafanaPanel) -> Any:
    from grafana_foundation_sdk.builders.common import VizLegendOptions
    from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement

    mode = {"table": LegendDisplayMode.TABLE, "hidden": LegendDisplayMode.HIDDEN}.get(
        options.legend, LegendDisplayMode.LIST
    )
    legend = VizLegendOptions().show_legend(options.legend != "hidden").display_mode(mode)
    legend = legend.placement(
        LegendPlacement.RIGHT if options.legend_placement == "right" else LegendPlacement.BOTTOM
    )
    return legend.calcs(list(options.legend_calcs))


def _panel_builder(kind: str, options: GrafanaPanel, columns: tuple[str, ...]) -> Any:
    import importlib

    from grafana_foundation_sdk.builders.common import ReduceDataOptions, StackingConfig, VizTooltipOptions
    from grafana_foundation_sdk.models import common

    module = importlib.import_module(f"grafana_foundation_sdk.builders.{kind}")
    panel = module.Panel()
    if kind == "timeseries":
        style = {"bars": common.GraphDrawStyle.BARS, "points": common.GraphDrawStyle.POINTS}.get(
            options.draw_style, common.GraphDrawStyle.LINE
        )
        panel = panel.draw_style(style).legend(_legend(options))
        panel = panel.tooltip(
            VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
        )
        panel = panel.fill_opacity(
            options.fill_opacity
            if options.fill_opacity is not None
            else (80 if style == common.GraphDrawStyle.BARS else 10)
        )
        panel = panel.line_width(1).show_points(common.VisibilityMode.AUTO).span_nulls(False)
        stacking = common.StackingMode.NORMAL if options.stacking else common.StackingMode.NONE
        panel = panel.stacking(StackingConfig().mode(stacking).group("A"))
    elif kind in ("stat", "gauge", "bargauge"):
        reduce = ReduceDataOptions().calcs(["lastNotNull"]).values(False)
        if options.fields:
            reduce = reduce.fields("/^(" + "|".join(options.fields) + ")$/")
        panel = panel.reduce_options(reduce)
        if kind == "stat":
            panel = panel.graph_mode(common.BigValueGraphMode.NONE).color_mode(common.BigValueColorMode.VALUE)
            panel = panel.text_mode(common.BigValueTextMode.AUTO)
    elif kind == "piechart":
        from grafana_foundation_sdk.models.piechart import PieChartType

        panel = panel.reduce_options(ReduceDataOptions().calcs([]).values(True)).pie_type(PieChartType.PIE)
        panel = panel.legend(_piechart_legend(options))
    elif kind == "barchart":
        panel = panel.legend(_legend(options))
        if columns:
            panel = panel.x_field(columns[0])
    elif kind == "table":
        panel = panel.show_header(True)
    return panel


def _piechart_legend(options: GrafanaPanel) -> Any:
    from grafana_foundation_sdk.builders.piechart import PieChartLegendOptions
    from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement

    mode = LegendDisplayMode.TABLE if options.legend == "table" else LegendDisplayMode.LIST
    legend = PieChartLegendOptions().show_legend(options.legend != "hidden").display_mode(mode)
    return legend.placement(LegendPlacement.RIGHT).values(["value", "percent"])


def _layouts(panels) -> dict[int, tuple[int, int, int, int]]:
    """Grid positions: the declared ones, others flowed left to right below them."""
    result: dict[int, tuple[int, int, int, int]] = {}
    x = 0
    y = max((p.layout.y + p.layout.h for p in panels if p.layout), default=0)
    w, h = _DEFAULT_LAYOUT
    for panel in panels:
        if panel.layout is not None:
            result[panel.id] = (panel.layout.x, panel.layout.y, panel.layout.w, panel.layout.h)
            continue
        if x + w > 24:
            x, y = 0, y + h
        result[panel.id] = (x, y, w, h)
        x += w
    return result


def _panel(project: Project, dashboard: Dashboard, panel: Panel, grid: tuple[int, int, int, int]) -> Any:
    _, models = _sdk()
    from smarter_obs.dashboards.sql import template_context
    from smarter_obs.dashboards.sql.render import render_file

    options = panel.extra if isinstance(panel.extra, GrafanaPanel) else GrafanaPanel()
    datasource = dashboard.panel_datasource(panel)
    builder = _panel_builder(panel.kind, options, panel.columns)
    x, y, w, h = grid
    builder = builder.id(panel.id).title(panel.title).grid_pos(models.GridPos(h=h, w=w, x=x, y=y))
    builder = builder.datasource(_datasource_ref(datasource))
    if panel.description:
        builder = builder.description(panel.description)
    if panel.sql:
        path = project.sql_path(dashboard, panel.sql)
        sql = render_file(
            project.queries_dir, path, template_context(dashboard, panel, datasource)
        ).text.strip()
        builder = builder.with_target(_Built(_target(datasource, sql, panel.kind)))
    if panel.min_interval:
        builder = builder.interval(panel.min_interval)
    if panel.max_data_points:
        builder = builder.max_data_points(panel.max_data_points)
    if options.unit:
        builder = builder.unit(options.unit)
    if options.decimals is not None:
        builder = builder.decimals(options.decimals)
    if options.min is not None:
        builder = builder.min(options.min)
    if options.max is not None:
        builder = builder.max(options.max)
    if options.transparent:
        builder = builder.transparent(True)
    builder = builder.thresholds(_thresholds(options.thresholds))
    from grafana_foundation_sdk.builders.dashboard import FieldColor

    if options.color:
        color = FieldColor().mode(models.FieldColorModeId.FIXED).fixed_color(options.color)
    elif panel.kind in ("stat", "gauge") and options.thresholds:
        color = FieldColor().mode(models.FieldColorModeId.THRESHOLDS)
    else:
        color = FieldColor().mode(models.FieldColorModeId.PALETTE_CLASSIC)
    builder = builder.color_scheme(color)
    for override in options.overrides:
        builder = builder.override_by_name(override.field, _override_properties(override, datasource))
    if options.customize is not None:
        builder = options.customize(builder) or builder
    return builder


def _current(variable: Variable) -> Any:
    """The option selected when the dashboard opens (Grafana's ``current``), or None (the first option)."""
    _, models = _sdk()
    from smarter_obs.dashboards.model import ALL

    selection = variable.default_selection()
    if not selection:
        return None
    if selection == (ALL,):
        texts, values = ["All"], [ALL]
    else:
        labels = {c.value: c.label for c in variable.choices}
        texts, values = [labels.get(v, v) for v in selection], list(selection)
    if variable.multi:
        return models.VariableOption(selected=True, text=texts, value=values)
    return models.VariableOption(selected=True, text=texts[0], value=values[0])


def _variable_builder(dashboard: Dashboard, variable: Variable, project: Project) -> Any:
    builders, models = _sdk()
    from smarter_obs.dashboards.datasources import get_datasource
    from smarter_obs.dashboards.sql import template_context
    from smarter_obs.dashboards.sql.render import render_file

    if variable.kind == "query":
        datasource = dashboard.panel_datasource(variable)
        path = project.sql_path(dashboard, variable.sql or "")
        context = template_context(dashboard, variable, datasource)
        sql = render_file(project.queries_dir, path, context).text.strip()
        engine = get_datasource(datasource).engine
        query: Any = {"editorType": "sql", "rawSql": sql} if engine == "clickhouse" else sql
        builder = builders.QueryVariable(variable.name).datasource(_datasource_ref(datasource)).query(query)
        builder = builder.definition(sql).refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        return builder.sort(models.VariableSort.DISABLED)
    if variable.kind == "custom":
        values = ",".join(c.value if c.text is None else f"{c.text} : {c.value}" for c in variable.choices)
        chosen = set(variable.default_selection() or ())
        options = [
            models.VariableOption(selected=c.value in chosen, text=c.label, value=c.value)
            for c in variable.choices
        ]
        return builders.CustomVariable(variable.name).values(values).options(options)
    if variable.kind == "constant":
        builder = builders.ConstantVariable(variable.name).value(str(variable.default))
        return builder.hide(models.VariableHide.HIDE_VARIABLE)
    if variable.kind == "textbox":
        return builders.TextBoxVariable(variable.name).default_value(str(variable.default or ""))
    if variable.kind == "interval":
        return builders.IntervalVariable(variable.name).values(",".join(c.value for c in variable.choices))
    from smarter_obs.dashboards.errors import DefinitionError
    from smarter_obs.dashboards.model import VARIABLE_KINDS

    raise DefinitionError(
        f"dashboard {dashboard.slug!r} variable {variable.name!r}: kind {variable.kind!r} is not a "
        f"Grafana variable kind ({', '.join(VARIABLE_KINDS)})",
        path=str(dashboard.source) if dashboard.source else None,
    )


def _variable(dashboard: Dashboard, variable: Variable, project: Project) -> Any:
    builder = _variable_builder(dashboard, variable, project)
    if variable.label:
        builder = builder.label(variable.label)
    if variable.description:
        builder = builder.description(variable.description)
    if variable.kind in ("query", "custom"):
        if variable.multi:
            builder = builder.multi(True)
        if variable.include_all:
            builder = builder.include_all(True)
            if variable.all_value is not None:
                builder = builder.all_value(variable.all_value)
    current = _current(variable)
    if current is not None and variable.kind != "constant":
        builder = builder.current(current)
    return builder


def _annotations() -> Any:
    builders, _ = _sdk()
    from grafana_foundation_sdk.models.common import DataSourceRef

    # The built-in "Annotations & Alerts" entry Grafana adds on every save: emitting it avoids a diff.
    return (
        builders.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(DataSourceRef(type_val="grafana", uid="-- Grafana --"))
        .enable(True)
        .hide(True)
        .icon_color("rgba(0, 211, 255, 1)")
        .type("dashboard")
        .built_in(1)
    )


def compile_dashboard(project: Project, dashboard: Dashboard) -> dict[str, Any]:
    """The classic Grafana dashboard JSON of ``dashboard`` (sorted keys, no ``id``/``version``)."""
    import json
    import warnings

    builders, models = _sdk()
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    options = dashboard.extra if isinstance(dashboard.extra, GrafanaDashboard) else GrafanaDashboard()
    tooltip = {
        "off": models.DashboardCursorSync.OFF,
        "shared_tooltip": models.DashboardCursorSync.TOOLTIP,
    }.get(options.graph_tooltip, models.DashboardCursorSync.CROSSHAIR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        builder = builders.Dashboard(dashboard.title).uid(dashboard.uid or "").tags(list(dashboard.tags))
        builder = (
            builder.timezone(options.timezone).time(dashboard.time_from, dashboard.time_to).tooltip(tooltip)
        )
        if options.editable:
            builder = builder.editable()
        if dashboard.description:
            builder = builder.description(dashboard.description)
        if dashboard.refresh:
            builder = builder.refresh(dashboard.refresh)
        builder = builder.annotation(_annotations())
        for variable in dashboard.variables:
            builder = builder.with_variable(_variable(dashboard, variable, project))
        grids = _layouts(dashboard.panels)
        for panel in sorted(dashboard.panels, key=lambda p: (grids[p.id][1], grids[p.id][0], p.id)):
            builder = builder.with_panel(_panel(project, dashboard, panel, grids[panel.id]))
        model = builder.build()
        payload = json.loads(JSONEncoder(sort_keys=True).encode(model))
    payload.pop("id", None)
    payload.pop("version", None)
    payload["schemaVersion"] = SCHEMA_VERSION
    for link in options.links:
        payload.setdefault("links", []).append(dict(link))
    return payload


# -- build output and file provisioning -----------------------------------------------------------------

#: Where Grafana reads the built dashboards when provisioned from files (mount build/grafana there).
PROVISIONED_DASHBOARDS_PATH = "/var/lib/grafana/dashboards/smarter-obs"
#: Environment variables the datasource provisioning file references (Grafana expands $VAR at startup).
PROVISIONING_ENV = {
    "clickhouse": {
        "host": "$CLICKHOUSE_HOST",
        "port": "$CLICKHOUSE_PORT",
        "protocol": "$CLICKHOUSE_PROTOCOL",
        "secure": "$CLICKHOUSE_SECURE",
        "username": "$CLICKHOUSE_USER",
        "defaultDatabase": "$CLICKHOUSE_DATABASE",
        "password": "$CLICKHOUSE_PASSWORD",
    },
    "postgres": {
        "url": "$%(prefix)s_DB_HOST:$%(prefix)s_DB_PORT",
        "user": "$%(prefix)s_DB_USER",
        "database": "$%(prefix)s_DB_NAME",
        "sslmode": "$%(prefix)s_DB_SSLMODE",
        "password": "$%(prefix)s_DB_PASSWORD",
    },
}


def _yaml_scalar(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return (
        json.dumps(text) if any(c in text for c in ":#{}[],&*?|<>=!%@`'\"") or text != text.strip() else text
    )


def _yaml(value: Any, indent: int = 0) -> str:
    """A small deterministic YAML writer for the provisioning files (mappings, lists, scalars)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.append(_yaml(item, indent + 1))
            else:
                lines.append(
                    f"{pad}{key}: {_yaml_scalar(item) if not isinstance(item, (dict, list)) else '{}'}"
                )
    elif isinstance(value, list):
        for item in value:
            body = _yaml(item, indent + 1).lstrip()
            lines.append(f"{pad}- {body}")
    else:
        lines.append(pad + _yaml_scalar(value))
    return "\n".join(lines)


def provisioning_datasources(datasources: list[str]) -> dict[str, Any]:
    """Grafana's datasource provisioning for these datasource names; secrets as ``$ENV`` references."""
    from smarter_obs.dashboards.datasources import get_datasource, grafana_uid

    entries = []
    for name in datasources:
        spec = get_datasource(name)
        if spec.grafana_type == CLICKHOUSE_PLUGIN:
            env = PROVISIONING_ENV["clickhouse"]
            entries.append(
                {
                    "name": spec.grafana_name,
                    "uid": grafana_uid(name),
                    "type": CLICKHOUSE_PLUGIN,
                    "editable": False,
                    "jsonData": {
                        "host": env["host"],
                        "port": env["port"],
                        "protocol": env["protocol"],
                        "secure": env["secure"],
                        "username": env["username"],
                        "defaultDatabase": env["defaultDatabase"],
                    },
                    "secureJsonData": {"password": env["password"]},
                }
            )
        else:
            env = {k: v % {"prefix": name.upper()} for k, v in PROVISIONING_ENV["postgres"].items()}
            entries.append(
                {
                    "name": spec.grafana_name,
                    "uid": grafana_uid(name),
                    "type": POSTGRES_PLUGIN,
                    "editable": False,
                    "url": env["url"],
                    "user": env["user"],
                    "jsonData": {
                        "database": env["database"],
                        "sslmode": env["sslmode"],
                        "postgresVersion": 1500,
                    },
                    "secureJsonData": {"password": env["password"]},
                }
            )
    return {"apiVersion": 1, "datasources": entries}


def provisioning_dashboards() -> dict[str, Any]:
    """Grafana's dashboard provider reading the built JSON from :data:`PROVISIONED_DASHBOARDS_PATH`."""
    from smarter_obs import settings

    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "smarter-obs",
                "orgId": 1,
                "folder": settings.GRAFANA_FOLDER.get() or "SmarterOS",
                "folderUid": settings.GRAFANA_FOLDER_UID.get() or "smarter-obs",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": PROVISIONED_DASHBOARDS_PATH, "foldersFromFilesStructure": False},
            }
        ],
    }


_HEADER = "# Generated by `smarter-obs build` from dashboards/ — do not edit; secrets are $ENV references.\n"


def write_build(project: Project, payloads: Mapping[str, dict[str, Any]], build_dir) -> list[Any]:
    """``build/grafana/<slug>.json`` per dashboard and ``provisioning/grafana/{datasources,dashboards}/
    smarter-obs.yaml``; return the paths written (files no longer defined are removed from build/grafana)."""
    import json
    from pathlib import Path

    out = Path(build_dir) / "grafana"
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for slug, payload in sorted(payloads.items()):
        path = out / f"{slug}.json"
        _write_if_changed(path, json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(path)
    for stale in out.glob("*.json"):
        if stale.stem not in payloads:
            stale.unlink()
    used: set[str] = set()
    for slug in payloads:
        dashboard = project.dashboard(slug)
        used.update(dashboard.panel_datasource(item) for item in (*dashboard.panels, *dashboard.variables))
    provisioning = project.provisioning_dir / "grafana"
    for sub, content in (
        ("datasources", provisioning_datasources(sorted(used))),
        ("dashboards", provisioning_dashboards()),
    ):
        path = provisioning / sub / "smarter-obs.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_if_changed(path, _HEADER + _yaml(content) + "\n")
        written.append(path)
    return written


def _write_if_changed(path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
