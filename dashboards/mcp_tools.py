"""MCP Tool Execution: latency, errors and volume of the SmarterOS MCP tool server's tool calls.

Reads the per-minute aggregate ``mcp_tool_calls_1m`` (fast at hundreds of millions of spans; panels on
it have a 1-minute minimum interval so a bucket never splits a minute) and ``otel_traces`` only for the
table of slowest calls, which needs one row per call and links to Grafana's trace view.
"""

from smarter_obs.dashboards import Choice, Dashboard, Layout, Panel, Variable
from smarter_obs.dashboards.compile.grafana import FieldLink, GrafanaPanel, Override

MINUTE = "1m"  # buckets of mcp_tool_calls_1m are whole minutes
# The time series draw a series per tool (and quantile): 240 points over the range (5-minute buckets for a
# day, read from the 5-minute rollup) keep them readable and the query fast.
POINTS = 240

dashboard = Dashboard(
    slug="mcp-tools",
    title="MCP Tool Execution",
    target="grafana",
    datasource="clickhouse",
    queries="clickhouse/mcp_tools",
    description="Latency, errors and volume of MCP tool calls (OpenTelemetry spans in ClickHouse).",
    tags=("smarter-obs", "mcp", "traces"),
    time_from="now-24h",
    refresh="1m",
    variables=[
        Variable(
            name="service",
            label="Service",
            sql="services.sql",
            multi=True,
            include_all=True,
            samples=("smarteros-mcp", "mcp-tools"),
        ),
        Variable(
            name="tool",
            label="Tool",
            sql="tools.sql",
            multi=True,
            include_all=True,
            samples=("whatsapp_send", "shopify_order_lookup"),
        ),
        Variable(
            name="kind",
            label="Span kind",
            kind="custom",
            default="Server",
            choices=[Choice("Server"), Choice("Client"), Choice("Internal")],
            description="Server: the tool server's own view of each call (client and server both trace it).",
        ),
    ],
    panels=[
        Panel(
            id=1,
            title="Tool calls",
            kind="stat",
            sql="totals.sql",
            columns=("calls",),
            layout=Layout(x=0, y=0, w=6, h=4),
            min_interval=MINUTE,
            extra=GrafanaPanel(unit="short", fields=("calls",)),
        ),
        Panel(
            id=2,
            title="Error rate",
            kind="stat",
            sql="totals.sql",
            columns=("error_rate",),
            layout=Layout(x=6, y=0, w=6, h=4),
            min_interval=MINUTE,
            extra=GrafanaPanel(
                unit="percentunit",
                decimals=2,
                fields=("error_rate",),
                thresholds=((None, "green"), (0.01, "orange"), (0.05, "red")),
            ),
        ),
        Panel(
            id=3,
            title="Top 10 tools",
            kind="table",
            sql="top_tools.sql",
            columns=("tool", "calls", "error_rate", "p95_ms"),
            layout=Layout(x=12, y=0, w=12, h=10),
            min_interval=MINUTE,
            description="The ten most called tools in the range, with their error rate and p95 latency.",
            extra=GrafanaPanel(
                overrides=(
                    Override("error_rate", unit="percentunit", decimals=2),
                    Override("p95_ms", unit="ms", decimals=1),
                )
            ),
        ),
        Panel(
            id=4,
            title="Tool latency p50 / p95 / p99",
            kind="timeseries",
            sql="latency.sql",
            max_data_points=POINTS,
            columns=("time", "tool", "p50", "p95", "p99"),
            layout=Layout(x=0, y=4, w=12, h=8),
            min_interval=MINUTE,
            description="Latency quantiles per tool (t-digest, milliseconds).",
            extra=GrafanaPanel(unit="ms", legend="table", legend_calcs=("mean", "max")),
        ),
        Panel(
            id=5,
            title="Error rate per tool",
            kind="timeseries",
            sql="error_rate.sql",
            max_data_points=POINTS,
            columns=("time", "tool", "error_rate"),
            layout=Layout(x=0, y=12, w=12, h=8),
            min_interval=MINUTE,
            description="Share of each tool's calls whose span status is Error.",
            extra=GrafanaPanel(
                unit="percentunit", min=0, max=1, legend="table", legend_calcs=("mean", "max")
            ),
        ),
        Panel(
            id=6,
            title="Tool calls per minute",
            kind="timeseries",
            sql="calls_per_minute.sql",
            max_data_points=POINTS,
            columns=("time", "tool", "calls_per_minute"),
            layout=Layout(x=12, y=10, w=12, h=10),
            min_interval=MINUTE,
            extra=GrafanaPanel(
                unit="short", draw_style="bars", stacking=True, legend="table", legend_calcs=("sum", "max")
            ),
        ),
        Panel(
            id=7,
            title="Slowest tool calls",
            kind="table",
            sql="slowest_calls.sql",
            params={"limit": 20},
            columns=("time", "service", "tool", "duration_ms", "status", "message", "trace_id", "span_id"),
            layout=Layout(x=0, y=20, w=24, h=10),
            description="The slowest calls in the range, from the raw spans; the trace id opens the trace.",
            extra=GrafanaPanel(
                overrides=(
                    Override("duration_ms", unit="ms", decimals=1),
                    Override("trace_id", link=FieldLink.trace_view("Open trace")),
                )
            ),
        ),
    ],
)
