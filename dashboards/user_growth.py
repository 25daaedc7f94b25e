"""User Growth (Metabase, Supabase): signups, daily and monthly active users, churn and onboarding.

Users are Clerk users synced into ``profiles``; activity is ``user_events`` (read through its per-UTC-day
rollup ``user_activity_daily``). Every card follows the dashboard's date range (UTC days) and tenant.
"""

from smarter_obs.dashboards import Dashboard, Layout, Panel
from smarter_obs.dashboards.metabase import MetabaseCard, MetabaseDashboard, date_range, text_filter

PERCENT = {"number_style": "percent", "decimals": 1}


def _column(name: str) -> str:
    return f'["name","{name}"]'


dashboard = Dashboard(
    slug="user-growth",
    title="User Growth",
    target="metabase",
    datasource="supabase",
    queries="postgres/user_growth",
    description="Signups, active users, churn and onboarding of SmarterOS users (Clerk, Supabase).",
    variables=[
        *date_range(),
        text_filter(
            "tenant", "Tenant", samples=("Café Austral",), description="A tenant id (org_…) or name."
        ),
    ],
    extra=MetabaseDashboard(collection="SmarterOS"),
    panels=[
        Panel(
            id=1,
            title="Monthly active users",
            kind="stat",
            sql="monthly_active_users.sql",
            columns=("monthly_active_users",),
            layout=Layout(x=0, y=0, w=8, h=4),
            description="Distinct users with an event in the 30 days ending at the range end (UTC days; "
            "no end date: today).",
            extra=MetabaseCard(
                display="scalar", visualization_settings={"scalar.field": "monthly_active_users"}
            ),
        ),
        Panel(
            id=2,
            title="Churn rate",
            kind="stat",
            sql="churn_rate.sql",
            columns=("churn_rate", "churned_users", "previously_active_users"),
            layout=Layout(x=8, y=0, w=8, h=4),
            description="Of the users active in the 30 days before the last 30 days, the share with no event "
            "in the last 30 days; both windows end at the range end.",
            extra=MetabaseCard(
                display="scalar",
                visualization_settings={
                    "scalar.field": "churn_rate",
                    "column_settings": {_column("churn_rate"): PERCENT},
                },
            ),
        ),
        Panel(
            id=3,
            title="Onboarding completion",
            kind="stat",
            sql="onboarding_completion.sql",
            columns=("onboarding_completion", "onboarded_profiles", "profiles"),
            layout=Layout(x=16, y=0, w=8, h=4),
            description="Share of the profiles created in the range with onboarding_completed_at set.",
            extra=MetabaseCard(
                display="scalar",
                visualization_settings={
                    "scalar.field": "onboarding_completion",
                    "column_settings": {_column("onboarding_completion"): PERCENT},
                },
            ),
        ),
        Panel(
            id=4,
            title="Daily signups",
            kind="timeseries",
            sql="daily_signups.sql",
            columns=("day", "signups"),
            layout=Layout(x=0, y=4, w=12, h=8),
            description="Profiles created per UTC day.",
            extra=MetabaseCard(
                display="bar",
                visualization_settings={
                    "graph.dimensions": ["day"],
                    "graph.metrics": ["signups"],
                    "graph.x_axis.title_text": "Day (UTC)",
                    "graph.y_axis.title_text": "Signups",
                },
            ),
        ),
        Panel(
            id=5,
            title="Daily active users",
            kind="timeseries",
            sql="daily_active_users.sql",
            columns=("day", "active_users"),
            layout=Layout(x=12, y=4, w=12, h=8),
            description="Distinct users with at least one event per UTC day.",
            extra=MetabaseCard(
                display="line",
                visualization_settings={
                    "graph.dimensions": ["day"],
                    "graph.metrics": ["active_users"],
                    "graph.x_axis.title_text": "Day (UTC)",
                    "graph.y_axis.title_text": "Active users",
                },
            ),
        ),
    ],
)
