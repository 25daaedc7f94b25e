"""N8N Automations: executions, outcomes, durations and trigger sources of the SmarterOS n8n workflows,
from Supabase (``n8n_executions``, written by ``smarter-obs collect n8n``) through Grafana's PostgreSQL
datasource.
"""

from smarter_obs.dashboards import Dashboard, Layout, Panel, Variable
from smarter_obs.dashboards.compile.grafana import GrafanaPanel, Override

# The variables' All value is the literal '__all' (the queries test for it), so All never expands to a
# long, or empty, IN list.
ALL_VALUE = "'__all'"

dashboard = Dashboard(
    slug="n8n-automations",
    title="N8N Automations",
    target="grafana",
    datasource="supabase",
    queries="postgres/n8n_automations",
    description="n8n workflow executions: volume, success vs error, duration and trigger source.",
    tags=("smarter-obs", "n8n", "automations"),
    time_from="now-7d",
    refresh="5m",
    variables=[
        Variable(
            name="instance",
            label="Instance",
            sql="instances.sql",
            multi=True,
            include_all=True,
            all_value=ALL_VALUE,
            samples=("n8n.smarterbot.cl", "n8n-staging"),
        ),
        Variable(
            name="workflow",
            label="Workflow",
            sql="workflows.sql",
            multi=True,
            include_all=True,
            all_value=ALL_VALUE,
            samples=("wf-orders", "wf-support"),
        ),
    ],
    panels=[
        Panel(
            id=1,
            title="Executions",
            kind="timeseries",
            sql="executions.sql",
            columns=("time", "executions"),
            layout=Layout(x=0, y=0, w=12, h=8),
            description="Executions started per interval.",
            extra=GrafanaPanel(unit="short", draw_style="bars"),
        ),
        Panel(
            id=2,
            title="Success vs error",
            kind="timeseries",
            sql="success_vs_error.sql",
            columns=("time", "success", "error"),
            layout=Layout(x=12, y=0, w=12, h=8),
            description="Successful and failed (error, crashed) executions per interval.",
            extra=GrafanaPanel(
                unit="short",
                draw_style="bars",
                stacking=True,
                overrides=(Override("success", color="green"), Override("error", color="red")),
            ),
        ),
        Panel(
            id=3,
            title="Error rate",
            kind="stat",
            sql="totals.sql",
            columns=("error_rate",),
            layout=Layout(x=0, y=8, w=6, h=4),
            description="Failed / (succeeded + failed) in the range.",
            extra=GrafanaPanel(
                unit="percentunit",
                decimals=1,
                fields=("error_rate",),
                thresholds=((None, "green"), (0.05, "orange"), (0.2, "red")),
            ),
        ),
        Panel(
            id=4,
            title="Executions by outcome",
            kind="stat",
            sql="totals.sql",
            columns=("success", "error", "other"),
            layout=Layout(x=6, y=8, w=6, h=4),
            extra=GrafanaPanel(unit="short", fields=("success", "error", "other")),
        ),
        Panel(
            id=5,
            title="Trigger source",
            kind="piechart",
            sql="trigger_source.sql",
            columns=("trigger", "executions"),
            layout=Layout(x=12, y=8, w=12, h=8),
            description="Executions per trigger: Kafka, Webhook, Schedule, Manual, Other.",
            extra=GrafanaPanel(unit="short", legend="table"),
        ),
        Panel(
            id=6,
            title="Execution duration",
            kind="timeseries",
            sql="duration.sql",
            columns=("time", "p50", "p95"),
            layout=Layout(x=0, y=12, w=12, h=8),
            description="p50 and p95 duration of executions that stopped.",
            extra=GrafanaPanel(unit="ms"),
        ),
        Panel(
            id=7,
            title="Latest failed executions",
            kind="table",
            sql="failed.sql",
            params={"limit": 20},
            columns=(
                "started",
                "instance",
                "workflow",
                "execution",
                "status",
                "mode",
                "trigger",
                "duration_ms",
                "retry_of",
            ),
            layout=Layout(x=12, y=16, w=12, h=10),
            extra=GrafanaPanel(overrides=(Override("duration_ms", unit="ms"),)),
        ),
        Panel(
            id=8,
            title="Executions by workflow",
            kind="table",
            sql="by_workflow.sql",
            columns=("workflow", "instance", "executions", "failed", "avg_ms"),
            layout=Layout(x=0, y=20, w=12, h=8),
            extra=GrafanaPanel(overrides=(Override("avg_ms", unit="ms", decimals=0),)),
        ),
    ],
)
