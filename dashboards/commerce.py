"""Commerce Analytics (Metabase, Supabase): revenue, average order value, products sold, conversion.

Shopify checkouts and orders synced into Supabase. Revenue counts orders not cancelled, per currency when
a tenant sells in several. Every card follows the dashboard's date range (UTC days) and tenant.
"""

from smarter_obs.dashboards import Dashboard, Layout, Panel
from smarter_obs.dashboards.metabase import MetabaseCard, MetabaseDashboard, date_range, text_filter

dashboard = Dashboard(
    slug="commerce-analytics",
    title="Commerce Analytics",
    target="metabase",
    datasource="supabase",
    queries="postgres/commerce",
    description="Shopify revenue, order value, products sold and checkout conversion per SmarterOS tenant.",
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
            title="Conversion rate",
            kind="stat",
            sql="conversion_rate.sql",
            columns=("conversion_rate", "completed_checkouts", "checkouts"),
            layout=Layout(x=0, y=0, w=8, h=5),
            description="Checkouts created in the range that were completed / checkouts created in the "
            "range.",
            extra=MetabaseCard(
                display="scalar",
                visualization_settings={
                    "scalar.field": "conversion_rate",
                    "column_settings": {
                        '["name","conversion_rate"]': {"number_style": "percent", "decimals": 1}
                    },
                },
            ),
        ),
        Panel(
            id=2,
            title="Average order value",
            kind="table",
            sql="average_order_value.sql",
            columns=("currency", "orders", "revenue", "average_order_value"),
            layout=Layout(x=8, y=0, w=16, h=5),
            description="Per currency: the revenue of the orders not cancelled created in the range / the "
            "number of those orders.",
            extra=MetabaseCard(
                display="table",
                visualization_settings={
                    "table.columns": [
                        {"name": c, "enabled": True}
                        for c in ("currency", "orders", "revenue", "average_order_value")
                    ]
                },
            ),
        ),
        Panel(
            id=3,
            title="Revenue per day",
            kind="timeseries",
            sql="revenue_per_day.sql",
            columns=("day", "currency", "revenue"),
            layout=Layout(x=0, y=5, w=24, h=8),
            description="Sum of total_price of the orders not cancelled, per UTC day and currency.",
            extra=MetabaseCard(
                display="bar",
                visualization_settings={
                    "graph.dimensions": ["day", "currency"],
                    "graph.metrics": ["revenue"],
                    "graph.x_axis.title_text": "Day (UTC)",
                    "graph.y_axis.title_text": "Revenue",
                },
            ),
        ),
        Panel(
            id=4,
            title="Products sold",
            kind="barchart",
            sql="products_sold.sql",
            columns=("product", "quantity"),
            layout=Layout(x=0, y=13, w=24, h=10),
            description="Quantity sold per product title over the orders not cancelled created in the range.",
            extra=MetabaseCard(
                display="row",
                visualization_settings={"graph.dimensions": ["product"], "graph.metrics": ["quantity"]},
            ),
        ),
    ],
)
