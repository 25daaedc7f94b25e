"""Messaging & Support (Metabase, Chatwoot's own PostgreSQL database, read-only).

Reads Chatwoot's real tables (conversations, messages, inboxes, users, reporting_events) and defines the
response and resolution times as Chatwoot does: the values of its own ``reporting_events``. Filters: the
date range (UTC days), the inbox (by name) and the Chatwoot account (by name).
"""

from smarter_obs.dashboards import Dashboard, Layout, Panel
from smarter_obs.dashboards.metabase import MetabaseCard, MetabaseDashboard, date_range, text_filter

dashboard = Dashboard(
    slug="messaging-support",
    title="Messaging & Support",
    target="metabase",
    datasource="chatwoot",
    queries="postgres/support",
    description="WhatsApp, web chat and email conversations in Chatwoot: volume, response and resolution "
    "times, agents.",
    variables=[
        *date_range(),
        text_filter("inbox", "Inbox", samples=("WhatsApp Ventas",), description="A Chatwoot inbox name."),
        text_filter("account", "Account", samples=("Café Austral",), description="A Chatwoot account name."),
    ],
    extra=MetabaseDashboard(collection="SmarterOS"),
    panels=[
        Panel(
            id=1,
            title="Conversations per inbox",
            kind="barchart",
            sql="conversations_per_inbox.sql",
            columns=("inbox", "conversations", "open", "pending", "snoozed", "resolved"),
            layout=Layout(x=0, y=0, w=12, h=8),
            description="Conversations created in the range per inbox, by their current status "
            "(open, pending, snoozed, resolved).",
            extra=MetabaseCard(
                display="bar",
                visualization_settings={
                    "graph.dimensions": ["inbox"],
                    "graph.metrics": ["open", "pending", "snoozed", "resolved"],
                    "stackable.stack_type": "stacked",
                },
            ),
        ),
        Panel(
            id=2,
            title="Agent activity",
            kind="table",
            sql="agent_activity.sql",
            columns=("agent", "replies_sent", "conversations_resolved"),
            layout=Layout(x=12, y=0, w=12, h=8),
            description="Per agent, in the range: replies sent (outgoing, non-private messages the agent "
            "sent) and conversations resolved (Chatwoot's conversation_resolved events of that agent).",
            extra=MetabaseCard(display="table"),
        ),
        Panel(
            id=3,
            title="First response time",
            kind="timeseries",
            sql="first_response_time.sql",
            columns=("day", "first_responses", "avg_minutes", "median_minutes"),
            layout=Layout(x=0, y=8, w=12, h=8),
            description="Chatwoot's definition: the values of its first_response reporting events (from the "
            "last non-human activity, the bot hand-off or the conversation's creation, to the first "
            "agent reply), per UTC day, in minutes.",
            extra=MetabaseCard(
                display="line",
                visualization_settings={
                    "graph.dimensions": ["day"],
                    "graph.metrics": ["avg_minutes", "median_minutes"],
                    "graph.y_axis.title_text": "Minutes",
                },
            ),
        ),
        Panel(
            id=4,
            title="Resolution time",
            kind="timeseries",
            sql="resolution_time.sql",
            columns=("day", "resolutions", "avg_hours", "median_hours"),
            layout=Layout(x=12, y=8, w=12, h=8),
            description="Chatwoot's definition: the values of its conversation_resolved reporting events "
            "(from the conversation's creation to each resolution), per UTC day, in hours.",
            extra=MetabaseCard(
                display="line",
                visualization_settings={
                    "graph.dimensions": ["day"],
                    "graph.metrics": ["avg_hours", "median_hours"],
                    "graph.y_axis.title_text": "Hours",
                },
            ),
        ),
    ],
)
