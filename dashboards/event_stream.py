"""Event Stream Flow: records produced, consumer lag and partition layout of the SmarterOS event bus
(Redpanda/Kafka), from the lag collector's tables (``smarter-obs collect redpanda``).
"""

from smarter_obs.dashboards import Choice, Dashboard, Layout, Panel, Variable
from smarter_obs.dashboards.compile.grafana import GrafanaPanel, Override

MINUTE = "1m"  # kafka_topic_throughput_1m holds whole minutes
# The lag panels draw a series per group and topic (often a hundred): 240 points each over the range
# (5-minute buckets for a day) keep them readable and the query fast.
LAG_POINTS = 240

dashboard = Dashboard(
    slug="event-stream",
    title="Event Stream Flow",
    target="grafana",
    datasource="clickhouse",
    queries="clickhouse/event_stream",
    description="Messages per topic, consumer lag (records, seconds), partitions and consumer group status.",
    tags=("smarter-obs", "kafka", "redpanda"),
    time_from="now-6h",
    refresh="30s",
    variables=[
        Variable(
            name="cluster",
            label="Cluster",
            sql="clusters.sql",
            multi=True,
            include_all=True,
            samples=("smarteros", "staging"),
        ),
        Variable(
            name="family",
            label="Topic family",
            kind="custom",
            include_all=True,
            choices=[
                Choice("shopify", "shopify.*"),
                Choice("whatsapp", "whatsapp.*"),
                Choice("n8n", "n8n.*"),
            ],
            description="Topics whose name starts with shopify., whatsapp. or n8n.",
        ),
        Variable(
            name="topic",
            label="Topic",
            sql="topics.sql",
            multi=True,
            include_all=True,
            samples=("shopify.orders", "whatsapp.messages"),
        ),
        Variable(
            name="consumer_group",
            label="Consumer group",
            sql="groups.sql",
            multi=True,
            include_all=True,
            samples=("n8n-workers", "chatwoot-sync"),
        ),
    ],
    panels=[
        Panel(
            id=1,
            title="Messages per topic",
            kind="timeseries",
            sql="messages.sql",
            columns=("time", "topic", "records"),
            layout=Layout(x=0, y=0, w=12, h=8),
            min_interval=MINUTE,
            description="Records produced per interval (end-offset deltas summed over partitions).",
            extra=GrafanaPanel(
                unit="short", draw_style="bars", stacking=True, legend="table", legend_calcs=("sum", "max")
            ),
        ),
        Panel(
            id=2,
            title="Producer throughput",
            kind="timeseries",
            sql="throughput.sql",
            columns=("time", "topic", "records_per_second"),
            layout=Layout(x=12, y=0, w=12, h=8),
            min_interval=MINUTE,
            description="Records per second per topic, averaged over each interval.",
            extra=GrafanaPanel(unit="rps", legend="table", legend_calcs=("mean", "max")),
        ),
        Panel(
            id=3,
            title="Consumer lag",
            kind="timeseries",
            sql="lag.sql",
            max_data_points=LAG_POINTS,
            columns=("time", "consumer_group", "topic", "records"),
            layout=Layout(x=0, y=8, w=12, h=8),
            description="Records behind per group and topic (partitions summed, highest cycle per interval).",
            extra=GrafanaPanel(
                unit="short",
                legend="table",
                legend_calcs=("last", "max"),
                thresholds=((None, "green"), (10000, "red")),
            ),
        ),
        Panel(
            id=4,
            title="Consumer lag in seconds",
            kind="timeseries",
            sql="lag_seconds.sql",
            max_data_points=LAG_POINTS,
            columns=("time", "consumer_group", "topic", "seconds"),
            layout=Layout(x=12, y=8, w=12, h=8),
            description="How long ago the log head was where the group's furthest-behind partition is.",
            extra=GrafanaPanel(
                unit="s",
                legend="table",
                legend_calcs=("last", "max"),
                thresholds=((None, "green"), (300, "red")),
            ),
        ),
        Panel(
            id=5,
            title="Partitions per leader",
            kind="barchart",
            sql="partitions_per_leader.sql",
            columns=("broker", "partitions"),
            layout=Layout(x=0, y=16, w=8, h=8),
            description="Partition distribution: how many partitions each broker leads (latest sample).",
            extra=GrafanaPanel(unit="short", legend="hidden"),
        ),
        Panel(
            id=6,
            title="Partitions per topic",
            kind="table",
            sql="partitions_per_topic.sql",
            columns=("topic", "partitions", "leaders", "without_leader"),
            layout=Layout(x=8, y=16, w=16, h=8),
            description="Partitions per topic, how many brokers lead them, and those without a leader.",
        ),
        Panel(
            id=7,
            title="Consumer group status",
            kind="table",
            sql="group_status.sql",
            columns=(
                "consumer_group",
                "status",
                "worst_partition_status",
                "total_lag",
                "max_lag",
                "max_lag_topic",
                "max_lag_seconds",
                "partitions",
                "partitions_with_commit",
                "state",
                "members",
                "error",
                "last_seen",
            ),
            layout=Layout(x=0, y=24, w=24, h=9),
            description="Burrow-style status of each group at its latest sample: OK, WARN, ERR (worst "
            "partition STOP, STALL or REWIND), NOTFOUND (no commit).",
            extra=GrafanaPanel(
                overrides=(
                    Override("max_lag_seconds", unit="s", decimals=0),
                    Override("status", color="auto"),
                )
            ),
        ),
    ],
)
